// A local HTTP server speaking the parts of Discord's REST API that belowzero uses, and
// recording every request, so tests can assert what the bot and worker sent.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { InteractionResponseType, RESTJSONErrorCodes } from "discord.js";

export interface RecordedRequest {
  method: string;
  path: string;
  /** The JSON body (payload_json for multipart requests). */
  body: Record<string, unknown> | undefined;
  /** Names and contents of uploaded files. */
  files: Array<{ name: string; data: string }>;
  at: number;
}

export interface Failure {
  match: (request: RecordedRequest) => boolean;
  status: number;
  body?: Record<string, unknown>;
  headers?: Record<string, string>;
  /** Hold the response this long before answering (to catch a worker mid-request). */
  delayMs?: number;
  times: number;
}

export interface StoredMessage {
  id: string;
  channel_id: string;
  content: string;
  components: unknown[];
  embeds: unknown[];
  flags: number;
  /** Its files; a file component names one as attachment://<filename>, and Discord hands it back as this url. */
  attachments: Array<{ id: string; filename: string; url: string }>;
  nonce?: string;
}

const COMPONENTS_V2 = 1 << 15;
type Component = {
  type: number;
  content?: string;
  components?: Component[];
  accessory?: Component;
  file?: { url?: string };
};

/** The file names a message has after this body: those it attaches or keeps (all kept when it names none). */
function attachmentNames(
  body: Record<string, unknown>,
  files: ReadonlyArray<{ name: string }>,
  before?: Pick<StoredMessage, "attachments">,
): Set<string> {
  const listed = body.attachments as Array<{ id?: string | number; filename?: string }> | undefined;
  if (!listed) return new Set([...files.map(f => f.name), ...(before?.attachments ?? []).map(a => a.filename)]);
  return new Set(
    listed.flatMap(entry => {
      const kept = before?.attachments?.find(a => a.id === String(entry.id));
      // A new file names itself or is the upload at its index; a kept one is named by its id.
      const name = entry.filename ?? files[Number(entry.id)]?.name ?? kept?.filename;
      return name === undefined ? [] : [name];
    }),
  );
}

/**
 * Why Discord would refuse this message body (400 Invalid Form Body), as its docs state the
 * limits: a Components V2 message (flag 1 << 15, which stays once set) has no content or
 * embeds, at most 40 components counting nested ones, at most 4000 characters in its text
 * displays together, files that name an attachment of the message; a plain one has at most
 * 2000 characters of content and only action rows of 1 to 5 components.
 */
export function invalidMessage(
  body: Record<string, unknown> | undefined,
  before?: Pick<StoredMessage, "flags"> & Partial<Pick<StoredMessage, "attachments">>,
  files: ReadonlyArray<{ name: string }> = [],
): string | undefined {
  if (!body) return undefined;
  const flags = typeof body.flags === "number" ? body.flags : undefined;
  const wasV2 = ((before?.flags ?? 0) & COMPONENTS_V2) !== 0;
  if (wasV2 && flags !== undefined && (flags & COMPONENTS_V2) === 0) return "IS_COMPONENTS_V2 cannot be removed";
  const v2 = wasV2 || ((flags ?? 0) & COMPONENTS_V2) !== 0;
  const components = (body.components as Component[] | undefined) ?? [];
  const rowsOk = (row: Component) =>
    row.type !== 1 || ((row.components?.length ?? 0) >= 1 && (row.components?.length ?? 0) <= 5);
  if (!v2) {
    if (typeof body.content === "string" && body.content.length > 2000) return "content is over 2000 characters";
    if (components.some(c => c.type !== 1)) return "these components need the IS_COMPONENTS_V2 flag";
    return components.every(rowsOk) ? undefined : "an action row holds 1 to 5 components";
  }
  if (typeof body.content === "string" && body.content !== "") return "content cannot be used with IS_COMPONENTS_V2";
  if (Array.isArray(body.embeds) && body.embeds.length > 0) return "embeds cannot be used with IS_COMPONENTS_V2";
  const all: Component[] = [];
  const walk = (component: Component) => {
    all.push(component);
    component.components?.forEach(walk);
    if (component.accessory) walk(component.accessory);
  };
  components.forEach(walk);
  if (all.length > 40) return `${all.length} components, more than 40`;
  const text = all.reduce((n, c) => n + (c.type === 10 ? (c.content ?? "").length : 0), 0);
  if (text > 4000) return `${text} characters of text displays, more than 4000`;
  if (!components.every(c => [1, 9, 10, 12, 13, 14, 17].includes(c.type))) return "not a top-level component type";
  if (!all.every(rowsOk)) return "an action row holds 1 to 5 components";
  // A file component takes attachment://<filename> only (Discord answers with the file's CDN url,
  // which it does not take back), naming a file the message has after this edit.
  const attached = attachmentNames(body, files, before?.attachments ? { attachments: before.attachments } : undefined);
  const file = all.find(
    c => c.type === 13 && !(c.file?.url?.startsWith("attachment://") && attached.has(c.file.url.slice(13))),
  );
  return file ? "a file component must name one of the message's attachments as attachment://<filename>" : undefined;
}

function parseMultipart(raw: Buffer, contentType: string): Pick<RecordedRequest, "body" | "files"> {
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/.exec(contentType);
  const marker = `--${boundary?.[1] ?? boundary?.[2]}`;
  let body: Record<string, unknown> | undefined;
  const files: RecordedRequest["files"] = [];
  for (const part of raw.toString("utf8").split(marker)) {
    const [head, ...rest] = part.split("\r\n\r\n");
    if (!head || rest.length === 0) continue;
    const content = rest.join("\r\n\r\n").replace(/\r\n$/, "");
    const name = /name="([^"]+)"/.exec(head)?.[1];
    const filename = /filename="([^"]+)"/.exec(head)?.[1];
    if (name === "payload_json") body = JSON.parse(content) as Record<string, unknown>;
    else if (filename) files.push({ name: filename, data: content });
  }
  return { body, files };
}

export class FakeDiscord {
  readonly requests: RecordedRequest[] = [];
  readonly failures: Failure[] = [];
  /** Interaction tokens Discord no longer accepts (as after 15 minutes). */
  readonly expiredTokens = new Set<string>();
  /**
   * Channels the bot is not a member of (a member's own install in someone else's server, a
   * group DM): every channel route answers 403 Missing Access, as Discord does.
   */
  readonly channelsWithoutBot = new Set<string>();
  private readonly messages = new Map<string, StoredMessage>();
  /** Component interactions' tokens, and the message whose button was pressed. */
  private readonly tokenMessages = new Map<string, string>();
  /**
   * Each interaction response and webhook edit waits up to this long before it is applied,
   * so concurrent ones land in any order, as on Discord.
   */
  jitterMs = 0;
  private readonly nonces = new Map<string, StoredMessage>();
  private nextId = 1n;
  private server: Server | undefined;
  url = "";

  /** Listens on 127.0.0.1; "0.0.0.0" lets containers reach it too (url stays the local one). */
  async start(host = "127.0.0.1"): Promise<this> {
    this.server = createServer((request, response) => void this.handle(request, response));
    await new Promise<void>(resolve => this.server!.listen(0, host, resolve));
    this.url = `http://127.0.0.1:${this.port}/api`;
    return this;
  }

  get port(): number {
    return (this.server!.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise(resolve => this.server?.close(resolve));
  }

  /** Requests whose path matches, in order. */
  find(method: string, path: RegExp): RecordedRequest[] {
    return this.requests.filter(r => r.method === method && path.test(r.path));
  }

  /** Resolves once a matching request has been recorded. */
  async waitFor(predicate: (request: RecordedRequest) => boolean, timeoutMs = 20_000): Promise<RecordedRequest> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.requests.find(predicate);
      if (found) return found;
      if (Date.now() > deadline)
        throw new Error(
          `No matching request within ${timeoutMs} ms; got:\n${this.requests.map(r => `${r.method} ${r.path}`).join("\n")}`,
        );
      await new Promise(resolve => setTimeout(resolve, 20));
    }
  }

  /** The message as Discord holds it now, if it exists. */
  messageById(id: string): StoredMessage | undefined {
    return this.messages.get(id);
  }

  messagesIn(channelId: string): StoredMessage[] {
    return [...this.messages.values()].filter(message => message.channel_id === channelId);
  }

  /** A message posted by someone else (e.g. a result), so tests can press its buttons. */
  seedMessage(channelId: string, body: Record<string, unknown>): StoredMessage {
    return this.message(channelId, body);
  }

  /** As a moderator deleting a message. */
  deleteMessage(id: string): void {
    this.messages.delete(id);
  }

  /** Says which message a pressed button is on: its interaction's responses edit that message. */
  bindToken(token: string, messageId: string): void {
    this.tokenMessages.set(token, messageId);
  }

  private message(
    channelId: string,
    body: Record<string, unknown> | undefined,
    id = String(this.nextId++),
    files: ReadonlyArray<{ name: string }> = [],
  ): StoredMessage {
    const before = this.messages.get(id);
    const flags = (typeof body?.flags === "number" ? body.flags : 0) | (before?.flags ?? 0);
    const names = body
      ? attachmentNames(body, files, before)
      : new Set((before?.attachments ?? []).map(a => a.filename));
    const attachments = [...names].map(
      filename =>
        before?.attachments.find(a => a.filename === filename) ?? {
          id: String(this.nextId++),
          filename,
          url: `https://cdn.discordapp.com/attachments/${channelId}/${id}/${filename}`,
        },
    );
    // As Discord hands a card back: its file components carry the file's url, not attachment://.
    const withUrls = (component: Component): Component => ({
      ...component,
      ...(component.type === 13 &&
        component.file?.url?.startsWith("attachment://") && {
          file: {
            ...component.file,
            url: attachments.find(a => a.filename === component.file!.url!.slice(13))?.url ?? component.file.url,
          },
        }),
      ...(component.components && { components: component.components.map(withUrls) }),
      ...(component.accessory && { accessory: withUrls(component.accessory) }),
    });
    const stored: StoredMessage = {
      id,
      channel_id: channelId,
      // A message made a card loses its content (a card has none).
      content: flags & COMPONENTS_V2 ? "" : typeof body?.content === "string" ? body.content : (before?.content ?? ""),
      components:
        ((body?.components as Component[] | undefined)?.map(withUrls) as unknown[]) ?? before?.components ?? [],
      embeds: (body?.embeds as unknown[]) ?? before?.embeds ?? [],
      flags,
      attachments,
      ...(typeof body?.nonce === "string" && { nonce: body.nonce }),
    };
    this.messages.set(id, stored);
    return stored;
  }

  /** Edits the message a component interaction's token refers to; false if it is gone. */
  private editBound(
    token: string,
    body: Record<string, unknown> | undefined,
    files: ReadonlyArray<{ name: string }>,
  ): StoredMessage | undefined {
    const id = this.tokenMessages.get(token)!;
    const before = this.messages.get(id);
    return before ? this.message(before.channel_id, body, id, files) : undefined;
  }

  /** Why Discord would refuse the message this request makes or edits, or undefined. */
  private invalidRequest({ method, path, body, files }: RecordedRequest): string | undefined {
    let match: RegExpExecArray | null;
    if (method === "POST" && (match = /^\/interactions\/\d+\/([^/]+)\/callback$/.exec(path))) {
      const data = body?.data as Record<string, unknown> | undefined;
      if (body?.type === InteractionResponseType.ChannelMessageWithSource)
        return invalidMessage(data, undefined, files);
      if (body?.type === InteractionResponseType.UpdateMessage)
        return invalidMessage(data, this.messages.get(this.tokenMessages.get(match[1]!) ?? ""), files);
      return undefined;
    }
    if (method === "PATCH" && (match = /^\/webhooks\/\d+\/[^/]+\/messages\/(\d+)$/.exec(path)))
      return invalidMessage(body, this.messages.get(match[1]!), files);
    if (method === "PATCH" && (match = /^\/webhooks\/\d+\/([^/]+)\/messages\/@original$/.exec(path)))
      return invalidMessage(
        body,
        this.messages.get(this.tokenMessages.get(match[1]!) ?? `original-${match[1]}`),
        files,
      );
    if (method === "POST" && /^\/webhooks\/\d+\/[^/]+$/.test(path)) return invalidMessage(body, undefined, files);
    if (method === "POST" && /^\/channels\/\d+\/messages$/.test(path)) return invalidMessage(body, undefined, files);
    if (method === "PATCH" && (match = /^\/channels\/\d+\/messages\/(\d+)$/.exec(path)))
      return invalidMessage(body, this.messages.get(match[1]!), files);
    return undefined;
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    const contentType = request.headers["content-type"] ?? "";
    const parsed = contentType.startsWith("multipart/")
      ? parseMultipart(raw, contentType)
      : { body: raw.length > 0 ? (JSON.parse(raw.toString("utf8")) as Record<string, unknown>) : undefined, files: [] };
    const recorded: RecordedRequest = {
      method: request.method!,
      path: decodeURIComponent(new URL(request.url!, "http://x").pathname).replace(/^\/api\/v\d+/, ""),
      ...parsed,
      at: Date.now(),
    };
    this.requests.push(recorded);

    const send = (status: number, json?: unknown, headers: Record<string, string> = {}) => {
      response.writeHead(status, { ...(json !== undefined && { "content-type": "application/json" }), ...headers });
      response.end(json === undefined ? undefined : JSON.stringify(json));
    };
    if (this.jitterMs > 0 && /^\/(interactions|webhooks)\//.test(recorded.path))
      await new Promise(resolve => setTimeout(resolve, Math.random() * this.jitterMs));
    const failure = this.failures.find(f => f.times > 0 && f.match(recorded));
    if (failure) {
      failure.times--;
      if (failure.delayMs) await new Promise(resolve => setTimeout(resolve, failure.delayMs).unref());
      if (failure.status < 300) return this.answer(recorded, send);
      return send(
        failure.status,
        failure.body ?? { message: "failure injected by the test", code: 0 },
        failure.headers,
      );
    }
    this.answer(recorded, send);
  }

  private answer(
    request: RecordedRequest,
    send: (status: number, json?: unknown, headers?: Record<string, string>) => void,
  ): void {
    const { method, path, body, files } = request;
    let match: RegExpExecArray | null;
    const unknownMessage = () => send(404, { message: "Unknown Message", code: RESTJSONErrorCodes.UnknownMessage });
    // Every message Discord would make or edit is checked first, as Discord does.
    const invalid = this.invalidRequest(request);
    if (invalid)
      return send(400, {
        message: `Invalid Form Body: ${invalid}`,
        code: RESTJSONErrorCodes.InvalidFormBodyOrContentType,
      });
    if (method === "POST" && (match = /^\/interactions\/\d+\/([^/]+)\/callback$/.exec(path))) {
      const data = body?.data as Record<string, unknown> | undefined;
      if (body?.type === InteractionResponseType.UpdateMessage && this.tokenMessages.has(match[1]!))
        if (!this.editBound(match[1]!, data, files)) return unknownMessage();
      return send(204);
    }
    if ((match = /^\/webhooks\/(\d+)\/([^/]+)\/messages\/@original$/.exec(path))) {
      if (this.expiredTokens.has(match[2]!)) return send(404, { message: "Unknown Webhook", code: 10015 });
      if (method === "PATCH" && this.tokenMessages.has(match[2]!)) {
        const edited = this.editBound(match[2]!, body, files);
        return edited ? send(200, edited) : unknownMessage();
      }
      if (method === "PATCH") return send(200, this.message("0", body, `original-${match[2]}`, files));
      if (method === "DELETE") return send(this.messages.delete(`original-${match[2]}`) ? 204 : 404);
      return send(200, this.messages.get(`original-${match[2]}`) ?? {});
    }
    if ((match = /^\/webhooks\/(\d+)\/([^/]+)\/messages\/(\d+)$/.exec(path))) {
      // A follow-up the token posted, edited through it.
      if (this.expiredTokens.has(match[2]!)) return send(404, { message: "Unknown Webhook", code: 10015 });
      const existing = this.messages.get(match[3]!);
      if (!existing) return unknownMessage();
      if (method === "PATCH") return send(200, this.message(existing.channel_id, body, match[3], files));
      return send(200, existing);
    }
    if (method === "POST" && (match = /^\/webhooks\/(\d+)\/([^/]+)$/.exec(path))) {
      if (this.expiredTokens.has(match[2]!)) return send(404, { message: "Unknown Webhook", code: 10015 });
      return send(200, this.message("0", body, undefined, files)); // a follow-up message
    }
    if ((match = /^\/channels\/(\d+)\//.exec(path)) && this.channelsWithoutBot.has(match[1]!))
      return send(403, { message: "Missing Access", code: RESTJSONErrorCodes.MissingAccess });
    if (method === "POST" && (match = /^\/channels\/(\d+)\/messages$/.exec(path))) {
      const nonce = body?.enforce_nonce ? String(body.nonce) : undefined;
      if (nonce && this.nonces.has(nonce)) return send(200, this.nonces.get(nonce));
      const created = this.message(match[1]!, body, undefined, files);
      if (nonce) this.nonces.set(nonce, created);
      return send(200, created);
    }
    if ((match = /^\/channels\/(\d+)\/messages\/(\d+)$/.exec(path))) {
      const existing = this.messages.get(match[2]!);
      if (!existing || existing.channel_id !== match[1]) return unknownMessage();
      if (method === "PATCH") return send(200, this.message(match[1], body, match[2], files));
      if (method === "DELETE") {
        this.messages.delete(match[2]!);
        return send(204);
      }
      if (method === "GET") return send(200, existing);
    }
    if (method === "PUT" && /^\/applications\/\d+(\/guilds\/\d+)?\/commands$/.test(path)) return send(200, body);
    send(404, { message: "Unknown route in the fake Discord", code: 0 });
  }
}
