/**
 * "Chat": the contacts section's chat destinations (Slack, Discord, Teams incoming webhooks).
 * Adding one makes the server post a test message to it (POST /contacts/chat); the list shows
 * label and host only, since the server never gives a webhook URL back. Built with DOM calls
 * and textContent: labels are the user's text.
 */
import type { NotificationsApi } from '../client/index.js';

export interface ChatDestination {
  id: string;
  kind: string;
  label: string;
  host: string;
}

const KINDS: ReadonlyArray<{ value: string; label: string; placeholder: string }> = [
  { value: 'slack', label: 'Slack', placeholder: 'https://hooks.slack.com/services/…' },
  { value: 'discord', label: 'Discord', placeholder: 'https://discord.com/api/webhooks/…' },
  { value: 'teams', label: 'Microsoft Teams (Workflows)', placeholder: 'https://…logic.azure.com/workflows/…' },
];

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<HTMLElementTagNameMap[K]> = {},
  ...children: Array<Node | string>
): HTMLElementTagNameMap[K] {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

export class ChatContacts {
  private readonly list = el('ul', { id: 'chat-list', className: 'chat-list' });
  private readonly status = el('p', { id: 'chat-status', className: 'muted small' });
  private readonly error = el('p', { id: 'chat-error', className: 'form-error', hidden: true });
  private readonly form = el('form', { id: 'chat-form', noValidate: true });
  private readonly kind = el('select', { name: 'kind' });
  private readonly url = el('input', { name: 'url', type: 'url', spellcheck: false, autocomplete: 'off' });
  private readonly label = el('input', { name: 'label', maxLength: 80, placeholder: 'Team channel' });
  private readonly add = el('button', { id: 'chat-add', className: 'btn btn-secondary btn-block', type: 'submit' });

  constructor(
    private readonly api: NotificationsApi,
    root: HTMLElement,
    private readonly describe: (err: unknown) => string,
    private readonly toast: (text: string) => void,
  ) {
    for (const k of KINDS) this.kind.append(el('option', { value: k.value }, k.label));
    const placeholder = () => (this.url.placeholder = KINDS.find((k) => k.value === this.kind.value)!.placeholder);
    placeholder();
    this.kind.addEventListener('change', placeholder);
    this.add.textContent = 'Add chat destination';
    this.form.append(
      el('label', { className: 'field' }, el('span', {}, 'Chat service'), this.kind),
      el('label', { className: 'field' }, el('span', {}, 'Webhook URL'), this.url),
      el('label', { className: 'field' }, el('span', {}, 'Label (optional)'), this.label),
      this.add,
    );
    this.status.setAttribute('role', 'status');
    this.error.setAttribute('role', 'alert');
    root.append(el('h3', { id: 'chat-title' }, 'Chat'), this.status, this.list, this.form, this.error);
    this.form.addEventListener('submit', (e) => {
      e.preventDefault();
      void this.act(async () => {
        const body = { kind: this.kind.value, url: this.url.value.trim(), label: this.label.value.trim() || undefined };
        const added = await this.api.request<ChatDestination>('POST', '/contacts/chat', body);
        this.url.value = '';
        this.label.value = '';
        this.show([...this.items, added]);
        this.toast(`Chat destination added: a test message went to ${added.label}`);
      });
    });
  }

  private items: ChatDestination[] = [];

  show(items: ChatDestination[]): void {
    this.items = items;
    this.list.replaceChildren(
      ...items.map((d) => {
        const remove = el('button', { className: 'btn btn-ghost', type: 'button' }, 'Remove');
        remove.setAttribute('aria-label', `Remove ${d.label}`);
        remove.addEventListener('click', () => {
          void this.act(async () => {
            await this.api.request('DELETE', `/contacts/chat/${encodeURIComponent(d.id)}`);
            this.show(this.items.filter((i) => i.id !== d.id));
            this.toast(`Chat destination removed: ${d.label}`);
          });
        });
        const item = el(
          'li',
          { className: 'chat-item' },
          el('span', { className: 'chat-label' }, d.label),
          el(
            'span',
            { className: 'muted small' },
            ` ${KINDS.find((k) => k.value === d.kind)?.label ?? d.kind} · ${d.host} `,
          ),
          remove,
        );
        item.dataset.id = d.id;
        return item;
      }),
    );
    this.status.textContent =
      items.length === 0 ? 'Add a Slack, Discord or Teams webhook to get notifications in a channel.' : '';
    this.status.dataset.count = String(items.length);
    this.form.hidden = items.length >= 5;
  }

  private async act(work: () => Promise<void>): Promise<void> {
    this.add.disabled = true;
    this.error.hidden = true;
    try {
      await work();
    } catch (err) {
      this.error.textContent = this.describe(err);
      this.error.hidden = false;
    } finally {
      this.add.disabled = false;
    }
  }
}
