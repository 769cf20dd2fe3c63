// Where a job's text goes: the deferred interaction reply while its token lives (15 minutes),
// else a normal message in the channel, except where belowzero is not a member (the job has a
// deadline): the token is all there is, and a reply the member deleted is replaced by a
// follow-up through it. All over Discord's REST API, no gateway.
import { REST, type RawFile } from "@discordjs/rest";
import { MessageFlags, Routes, type APIMessage } from "discord.js";
import { hasDiscordCode } from "../discord/errors.js";
import type { MessageBody } from "../discord/format.js";
import { observeRest } from "../observability/metrics.js";
import { INTERACTION_TOKEN_LIFETIME_MS, type WeirdJob } from "../job.js";

/** Where a job's messages go; a malformed job may give only part of it. */
export type Delivery = Partial<
  Pick<WeirdJob, "applicationId" | "interactionToken" | "interactionAt" | "channelId" | "deadline" | "layout">
>;

/** The interaction's token can no longer answer, and belowzero may not post in the channel. */
export class ReplyWindowClosed extends Error {
  constructor() {
    super("the interaction's token can no longer answer, and belowzero is not a member of the channel");
  }
}

/** The token is given up this long before its end, where the channel can take over. */
const TOKEN_MARGIN_MS = 30 * 1000;
const UNKNOWN_MESSAGE = 10008;
const UNKNOWN_WEBHOOK = 10015;
const INVALID_WEBHOOK_TOKEN = 50027;
/** The reply can no longer be edited (deleted, or its token expired early): post in the channel. */
const REPLY_GONE = new Set([UNKNOWN_MESSAGE, UNKNOWN_WEBHOOK, INVALID_WEBHOOK_TOKEN]);

export function createRest(token: string, apiUrl: string): REST {
  const rest = new REST({ api: apiUrl, retries: 3, timeout: 15_000 }).setToken(token);
  observeRest(rest);
  return rest;
}

function requestOf(body: MessageBody): { body: Record<string, unknown>; files?: RawFile[] } {
  const { attachment, content, ...rest } = body;
  // A card's text is in its components: Discord refuses content beside them.
  const message =
    body.flags !== undefined && (body.flags & MessageFlags.IsComponentsV2) !== 0 ? rest : { content, ...rest };
  if (!attachment) return { body: { ...message, attachments: [] } };
  return {
    body: { ...message, attachments: [{ id: 0, filename: attachment.name }] },
    files: [
      {
        name: attachment.name,
        data: typeof attachment.data === "string" ? Buffer.from(attachment.data, "utf8") : attachment.data,
        contentType: attachment.contentType,
      },
    ],
  };
}

export class ReplyTarget {
  /** The channel message used once the interaction token is gone. */
  private channelMessageId: string | undefined;
  /** Discord said the reply can no longer be edited, whatever the clock says. */
  private replyGone = false;
  /** A message several workers share (a comparison's): edited in the channel once the token is gone, never posted anew. */
  private sharedMessageId: string | undefined;
  /** Where only the token can answer and the member deleted the reply: the follow-up that replaced it. */
  private followUpId: string | undefined;

  constructor(
    private readonly rest: REST,
    private readonly to: Delivery,
    /** Makes a retried job's channel post a no-op on Discord's side (nonce + enforce_nonce). */
    private readonly nonce: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** Once the interaction token is gone, edit this message in the channel instead of posting one. */
  editsInChannel(messageId: string | undefined): this {
    this.sharedMessageId = messageId;
    return this;
  }

  /** Only the token can answer: belowzero is not a member where the job came from. */
  private get tokenOnly(): boolean {
    return this.to.deadline !== undefined;
  }

  get usesInteraction(): boolean {
    const { applicationId, interactionToken, interactionAt } = this.to;
    if (this.replyGone || this.channelMessageId !== undefined) return false;
    if (!applicationId || !interactionToken || interactionAt === undefined) return false;
    // With no channel to fall back on, the token is worth trying to its last second.
    const margin = this.tokenOnly ? 0 : TOKEN_MARGIN_MS;
    return this.now() - interactionAt < INTERACTION_TOKEN_LIFETIME_MS - margin;
  }

  private get original(): `/${string}` {
    return Routes.webhookMessage(this.to.applicationId!, this.to.interactionToken!, "@original");
  }

  /** Shows this body: edits the reply (or the channel message), posting it first if needed. */
  async show(body: MessageBody): Promise<APIMessage> {
    if (this.usesInteraction) {
      try {
        if (this.followUpId) return await this.showInFollowUp(body);
        return (await this.rest.patch(this.original, { ...requestOf(body), auth: false })) as APIMessage;
      } catch (error) {
        // The token died early (the reply was deleted, or the clock is off): fall back.
        if (!hasDiscordCode(error, ...REPLY_GONE)) throw error;
        // Only the reply was deleted, the token still answers: where there is no channel to
        // fall back on, the result goes on in a follow-up rather than being lost.
        if (this.tokenOnly && !this.followUpId && hasDiscordCode(error, UNKNOWN_MESSAGE)) {
          const shown = await this.showInFollowUp(body).catch((followUpError: unknown) => {
            if (!hasDiscordCode(followUpError, ...REPLY_GONE)) throw followUpError;
            return undefined;
          });
          if (shown) return shown;
        }
        this.replyGone = true;
      }
    }
    return this.showInChannel(body);
  }

  private async showInFollowUp(body: MessageBody): Promise<APIMessage> {
    const { applicationId, interactionToken } = this.to as Required<Delivery>;
    const request = { ...requestOf(body), auth: false };
    if (this.followUpId)
      return (await this.rest.patch(
        Routes.webhookMessage(applicationId, interactionToken, this.followUpId),
        request,
      )) as APIMessage;
    const message = (await this.rest.post(Routes.webhook(applicationId, interactionToken), request)) as APIMessage;
    this.followUpId = message.id;
    return message;
  }

  /**
   * A refusal only the member sees: an ephemeral follow-up, and the public "queued" reply
   * removed. Once the token is gone there is no private way left, so it goes to the channel.
   */
  async refusePrivately(body: MessageBody): Promise<void> {
    if (this.usesInteraction) {
      try {
        const { applicationId, interactionToken } = this.to as Required<Delivery>;
        await this.rest.post(Routes.webhook(applicationId, interactionToken), {
          body: { ...requestOf(body).body, flags: MessageFlags.Ephemeral | (body.flags ?? 0) },
          auth: false,
        });
        await this.rest.delete(this.original, { auth: false }).catch(() => undefined);
        return;
      } catch (error) {
        if (!hasDiscordCode(error, ...REPLY_GONE)) throw error;
        this.replyGone = true;
      }
    }
    await this.showInChannel(body);
  }

  private async showInChannel(body: MessageBody): Promise<APIMessage> {
    if (this.tokenOnly) throw new ReplyWindowClosed();
    if (!this.to.channelId) throw new Error("the job names no channel to post in");
    const request = requestOf(body);
    this.channelMessageId ??= this.sharedMessageId;
    if (this.channelMessageId) {
      return (await this.rest.patch(
        Routes.channelMessage(this.to.channelId, this.channelMessageId),
        request,
      )) as APIMessage;
    }
    const message = (await this.rest.post(Routes.channelMessages(this.to.channelId), {
      ...request,
      body: { ...request.body, nonce: this.nonce, enforce_nonce: true },
    })) as APIMessage;
    this.channelMessageId = message.id;
    return message;
  }
}
