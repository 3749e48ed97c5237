import {
  ProtocolError,
  ProtocolErrorCode,
  type ClientCapabilities,
  type InputRequest,
  type InputRequests,
} from "@modelcontextprotocol/server";

// A 2025 upstream asks its client with a request of its own
// (elicitation/create, sampling/createMessage, roots/list). Through
// Gatehouse, the request's answer comes from the caller of the tools/call
// that is waiting on it: a 2026-07-28 caller gets the request in an
// input_required result (MCP 2026-07-28, basic/patterns/mrtr) and answers it
// with the retry's inputResponses. A 2025 caller is served statelessly and
// cannot be asked: the upstream gets an error.

/** The requests an upstream may send its client; missingCapability says what a caller must have declared for each. */
export const askableMethods = ["elicitation/create", "sampling/createMessage", "roots/list"] as const;

/** What the caller lacks to answer `request`, in words; null when it declared what it needs. */
function missingCapability(request: InputRequest, capabilities: ClientCapabilities): string | null {
  const params = (request.params ?? {}) as { mode?: string; tools?: unknown };
  switch (request.method) {
    case "elicitation/create":
      if (params.mode === "url") return capabilities.elicitation?.url ? null : "elicitation.url";
      return capabilities.elicitation ? null : "elicitation";
    case "sampling/createMessage":
      if (!capabilities.sampling) return "sampling";
      return params.tools === undefined || capabilities.sampling.tools ? null : "sampling.tools";
    case "roots/list":
      return capabilities.roots ? null : "roots";
  }
}

interface Question {
  request: InputRequest;
  resolve(answer: unknown): void;
  reject(error: Error): void;
}

/**
 * The requests one forwarded call's upstream has asked and not had
 * answered. `capabilities` are what the caller declared on its request
 * (2026-07-28 `_meta` envelope); null for a 2025 caller.
 */
export class Questions {
  private readonly open = new Map<string, Question>();
  private asked = 0;
  private wake: (() => void) | null = null;
  private closed: string | null = null;

  constructor(private readonly capabilities: ClientCapabilities | null) {}

  /** The upstream asks; the promise settles with the caller's answer, or rejects (the upstream gets a JSON-RPC error). */
  ask(request: InputRequest): Promise<unknown> {
    if (this.closed !== null) return Promise.reject(new ProtocolError(ProtocolErrorCode.InvalidRequest, this.closed));
    if (this.capabilities === null) {
      return Promise.reject(
        new ProtocolError(
          ProtocolErrorCode.InvalidRequest,
          `The calling client speaks MCP 2025 and is served statelessly: Gatehouse cannot pass ${request.method} on to it.`,
        ),
      );
    }
    const missing = missingCapability(request, this.capabilities);
    if (missing !== null)
      return Promise.reject(
        new ProtocolError(
          ProtocolErrorCode.InvalidRequest,
          `The calling client did not declare the ${missing} capability.`,
        ),
      );
    return new Promise((resolve, reject) => {
      this.open.set(`${request.method.split("/")[0]}-${++this.asked}`, { request, resolve, reject });
      this.wake?.();
    });
  }

  /** Resolves once at least one request is open: all open requests, by the key the caller answers under. */
  async pending(): Promise<InputRequests> {
    while (this.open.size === 0) await new Promise<void>((resolve) => (this.wake = resolve));
    this.wake = null;
    // Requests sent together (an SDK server's legacy shim sends a round's requests at once) often
    // arrive in the same read: a turn of the event loop lets them join this round. Any later
    // one is asked in the next round.
    await new Promise((resolve) => setImmediate(resolve));
    return Object.fromEntries([...this.open].map(([key, question]) => [key, question.request]));
  }

  /** Passes the caller's answers on; a request left unanswered stays open (and is asked again). */
  answer(responses: Record<string, unknown> | undefined): void {
    for (const [key, response] of Object.entries(responses ?? {})) {
      const question = this.open.get(key);
      if (!question) continue;
      this.open.delete(key);
      question.resolve(response);
    }
  }

  /** The call ended: whatever is still open is refused, and nothing more may be asked. */
  close(reason: string): void {
    this.closed = reason;
    for (const question of this.open.values())
      question.reject(new ProtocolError(ProtocolErrorCode.InvalidRequest, reason));
    this.open.clear();
  }
}
