import { type JSONRPCMessage, ProtocolError, SdkError, SdkErrorCode } from "@modelcontextprotocol/client";

// Requests Gatehouse sends on a stdio upstream's pipe itself, beside the SDK
// Client that shares the pipe (the handshake, lists, the upstream's own
// requests and notifications stay the Client's). A forwarded tools/call
// without a progress token goes this way (forwarded-call.ts): its answer is
// matched by id and handed back as it came, instead of passing the SDK
// Protocol's per-message classification and listeners. Ids are strings with
// Gatehouse's prefix; the SDK Client numbers its own, so the two never meet.
//
// What the SDK Protocol does for a request, this does too, in its words:
// a JSON-RPC error is a ProtocolError (ProtocolError.fromError); a timeout or
// a cancellation sends notifications/cancelled (MCP basic/utilities/
// cancellation) and fails with an SdkError; a closed pipe fails what is in
// flight with ConnectionClosed; a 2025 result's foreign `resultType` is
// dropped, as the SDK's 2025 codec drops it.

const idPrefix = "gatehouse-";

type Settle = { resolve: (result: unknown) => void; reject: (error: Error) => void };

export interface OwnRequestOptions {
  signal: AbortSignal;
  timeout: number;
}

export class OwnRequests {
  private next = 0;
  private readonly pending = new Map<string, Settle>();

  constructor(private readonly send: (message: JSONRPCMessage) => Promise<void>) {}

  request(method: string, params: Record<string, unknown>, options: OwnRequestOptions): Promise<unknown> {
    const id = `${idPrefix}${++this.next}`;
    return new Promise((resolve, reject) => {
      const { signal } = options;
      const done = () => {
        this.pending.delete(id);
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
      };
      const cancel = (reason: unknown) => {
        if (!this.pending.has(id)) return;
        done();
        const cancelled: JSONRPCMessage = {
          jsonrpc: "2.0",
          method: "notifications/cancelled",
          params: { requestId: id, reason: String(reason) },
        };
        void this.send(cancelled).catch(() => {});
        reject(reason instanceof SdkError ? reason : new SdkError(SdkErrorCode.RequestTimeout, String(reason)));
      };
      const onAbort = () => cancel(signal.reason);
      const timer = setTimeout(
        () => cancel(new SdkError(SdkErrorCode.RequestTimeout, "Request timed out", { timeout: options.timeout })),
        options.timeout,
      );
      this.pending.set(id, {
        resolve: (result) => {
          done();
          resolve(result);
        },
        reject: (error) => {
          done();
          reject(error);
        },
      });
      if (signal.aborted) return onAbort();
      signal.addEventListener("abort", onAbort, { once: true });
      this.send({ jsonrpc: "2.0", id, method, params } as JSONRPCMessage).catch((error: unknown) =>
        this.pending.get(id)?.reject(error instanceof Error ? error : new Error(String(error))),
      );
    });
  }

  /** Takes the answer to one of these requests (true), or leaves the message to the SDK Client (false). */
  settle(message: Record<string, unknown>): boolean {
    const { id } = message;
    if (typeof id !== "string" || !id.startsWith(idPrefix) || "method" in message) return false;
    const waiting = this.pending.get(id);
    // An answer after a timeout or cancellation: nobody waits for it any more.
    if (!waiting) return true;
    const error = message.error as { code?: unknown; message?: unknown; data?: unknown } | undefined;
    if (error !== undefined) {
      waiting.reject(ProtocolError.fromError(Number(error.code), String(error.message), error.data));
      return true;
    }
    const result = message.result;
    if (typeof result === "object" && result !== null && "resultType" in result) {
      const { resultType: _foreign, ...rest } = result as Record<string, unknown>;
      waiting.resolve(rest);
    } else waiting.resolve(result);
    return true;
  }

  /** The pipe closed: everything in flight fails as the SDK fails it. */
  closed(): void {
    for (const waiting of [...this.pending.values()])
      waiting.reject(new SdkError(SdkErrorCode.ConnectionClosed, "Connection closed"));
  }
}
