// Where each OAuth endpoint lives. Metadata, routes and tests all read these.
export const oauthPaths = {
  authorize: "/oauth/authorize",
  token: "/oauth/token",
  register: "/oauth/register",
  revoke: "/oauth/revoke",
  introspect: "/oauth/introspect",
  deviceAuthorization: "/oauth/device_authorization",
  /** The polling bridge: Gatehouse's own redirect URI, and where its clients poll. */
  bridgeCallback: "/oauth/bridge/callback",
  bridgePoll: "/oauth/bridge/poll",
} as const;

/** RFC 8628 §3.3: the pages where a person enters a user code and answers. */
export const devicePaths = {
  verify: "/device",
  consent: "/device/consent",
} as const;
