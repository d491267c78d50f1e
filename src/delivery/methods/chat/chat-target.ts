import { OutboundError } from '../../../outbound/outbound-error.js';
import { allowlistRules, checkUrl, type Target } from '../../../outbound/target.js';
import type { ChatKind } from './chat-formats.js';

/**
 * The public services' own hosts and the paths their incoming webhooks live under: on these
 * hosts a URL must be that kind's webhook (a Discord URL outside /api/webhooks/ would post to
 * Discord's API with no token, a Slack destination of kind "discord" would answer every message
 * with 400). Other allowed hosts (Teams workflows, an operator's own origins) take any path.
 */
const KNOWN_HOSTS: Record<string, { kind: ChatKind; path: RegExp }> = {
  'hooks.slack.com': { kind: 'slack', path: /^\/(services|triggers|workflows)\/./ },
  'discord.com': { kind: 'discord', path: /^\/api\/(v\d+\/)?webhooks\/\d+\/[\w-]+/ },
  'discordapp.com': { kind: 'discord', path: /^\/api\/(v\d+\/)?webhooks\/\d+\/[\w-]+/ },
};

/**
 * A chat destination's URL, checked by the outbound rules against CHAT_WEBHOOK_ALLOWLIST (exact
 * origins dialled as named, hosts under `*.` patterns https on 443 and public addresses only,
 * checked again at every connection) and by the kind's shape on the services' own hosts.
 * Throws an OutboundError "refused: not an allowed URL" whose detail names no part of the URL
 * but its host: the rest is the webhook's secret.
 */
export function chatTarget(kind: ChatKind, url: string, allowlist: readonly string[]): Target {
  const target = checkUrl(url, allowlistRules(allowlist));
  const known = KNOWN_HOSTS[target.hostname];
  if (known && known.kind !== kind) {
    throw new OutboundError('refused: not an allowed URL', `${target.hostname} takes ${known.kind} webhooks`);
  }
  if (known && !known.path.test(target.path)) {
    throw new OutboundError('refused: not an allowed URL', `not a ${kind} webhook URL`);
  }
  return target;
}
