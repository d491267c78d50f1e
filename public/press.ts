/**
 * An action pressed outside the page. An email's link or a system notification's button opens
 * the inbox at `/?notification=<id>&action=<actionId>`, or, with the inbox already open, the
 * service worker tells it. Such a link could come from anyone, so the press is recorded
 * (POST /notifications/:id/actions/:actionId) only once the user confirms it here, with the
 * notification's title and the action's label in view.
 */
import type { NotificationAction, NotificationJson } from '../client/index.js';

export interface Press {
  id: string;
  action: string;
}

const ID = /^[1-9]\d{0,17}$/;
const ACTION_ID = /^[a-z0-9][a-z0-9_-]{0,31}$/;

/** The press a URL's query names, if it is well-formed. */
export function pressIn(query: URLSearchParams): Press | null {
  const id = query.get('notification') ?? '';
  const action = query.get('action') ?? '';
  return ID.test(id) && ACTION_ID.test(action) ? { id, action } : null;
}

/** The address without a press in it, so that a reload does not offer it again. */
export function withoutPress(location: Location): string {
  const query = new URLSearchParams(location.search);
  query.delete('notification');
  query.delete('action');
  const rest = query.toString();
  return `${location.pathname}${rest ? `?${rest}` : ''}${location.hash}`;
}

export class PressOffer {
  private readonly text: HTMLElement;
  private readonly confirm: HTMLButtonElement;
  private offered: { n: NotificationJson; action: NotificationAction } | null = null;

  constructor(
    private readonly root: HTMLElement,
    /** The user's notification with this id, or null when they have none such. */
    private readonly find: (id: string) => Promise<NotificationJson | null>,
    /** What pressing the button in the list does. */
    press: (n: NotificationJson, action: NotificationAction) => void,
    private readonly fail: (text: string) => void,
  ) {
    this.text = root.querySelector<HTMLElement>('#press-text')!;
    this.confirm = root.querySelector<HTMLButtonElement>('#press-confirm')!;
    this.confirm.addEventListener('click', () => {
      const offered = this.offered;
      this.hide();
      if (offered) press(offered.n, offered.action);
    });
    root.querySelector('#press-dismiss')!.addEventListener('click', () => this.hide());
  }

  async offer(p: Press): Promise<void> {
    let n: NotificationJson | null;
    try {
      n = await this.find(p.id);
    } catch {
      n = null;
    }
    const action = n?.actions.find((a) => a.id === p.action);
    if (!n || !action) {
      this.hide();
      this.fail('That notification or action is no longer in your inbox.');
      return;
    }
    this.offered = { n, action };
    this.text.textContent = `Confirm what you chose for “${n.title}”:`;
    this.confirm.textContent = action.label;
    this.root.hidden = false;
    this.confirm.focus();
  }

  hide(): void {
    this.offered = null;
    this.root.hidden = true;
  }
}
