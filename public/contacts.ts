/**
 * "Contacts": where notifications may reach the user besides the browser. A phone, set and
 * verified with the 6-digit code the server texts to it (GET/PUT/DELETE /contacts/phone, POST
 * /contacts/phone/verify). Chat destinations fill `#chat-contacts` in the same panel.
 * The server's answers are shown as they are, with textContent.
 */
import type { NotificationsApi } from '../client/index.js';
import { ChatContacts } from './chat-contacts.js';

interface Phone {
  number: string;
  verified: boolean;
}

export interface ContactsView {
  phone: Phone | null;
  chat: Array<{ id: string; kind: string; label: string; host: string }>;
}

export class PhoneContact {
  private readonly numberForm: HTMLFormElement;
  private readonly codeForm: HTMLFormElement;
  private readonly status: HTMLElement;
  private readonly error: HTMLElement;
  private readonly remove: HTMLButtonElement;
  private readonly chat: ChatContacts;

  constructor(
    private readonly api: NotificationsApi,
    root: HTMLElement,
    private readonly describe: (err: unknown) => string,
    private readonly toast: (text: string) => void,
  ) {
    const find = <T extends HTMLElement>(selector: string) => root.querySelector<T>(selector)!;
    this.numberForm = find('#phone-form');
    this.codeForm = find('#phone-verify-form');
    this.status = find('#phone-status');
    this.error = find('#phone-error');
    this.remove = find('#phone-remove');
    this.chat = new ChatContacts(api, find('#chat-contacts'), describe, toast);
    const onSubmit = (form: HTMLFormElement, work: () => Promise<void>) =>
      form.addEventListener('submit', (e) => {
        e.preventDefault();
        void this.act(work);
      });
    onSubmit(this.numberForm, async () => {
      const number = this.numberInput.value.trim();
      this.show(await this.api.request<Phone>('PUT', '/contacts/phone', { number }));
      this.toast('A code is on its way by SMS');
      this.codeInput.focus();
    });
    onSubmit(this.codeForm, async () => {
      const code = this.codeInput.value.trim();
      this.show(await this.api.request<Phone>('POST', '/contacts/phone/verify', { code }));
      this.toast('Phone number verified');
    });
    this.remove.addEventListener('click', () => {
      void this.act(async () => {
        await this.api.request('DELETE', '/contacts/phone');
        this.show(null);
        this.toast('Phone number removed');
      });
    });
  }

  private get numberInput(): HTMLInputElement {
    return this.numberForm.elements.namedItem('number') as HTMLInputElement;
  }

  private get codeInput(): HTMLInputElement {
    return this.codeForm.elements.namedItem('code') as HTMLInputElement;
  }

  async load(): Promise<ContactsView | null> {
    try {
      const contacts = await this.api.request<ContactsView>('GET', '/contacts');
      this.show(contacts.phone);
      this.chat.show(contacts.chat);
      return contacts;
    } catch (err) {
      this.fail(err);
      return null;
    }
  }

  show(phone: Phone | null): void {
    this.error.hidden = true;
    this.numberInput.value = phone?.number ?? '';
    this.codeInput.value = '';
    this.status.textContent =
      phone === null
        ? 'Add a phone number to get SMS.'
        : phone.verified
          ? `${phone.number} is verified.`
          : `Enter the code sent to ${phone.number}.`;
    this.status.dataset.state = phone === null ? 'none' : phone.verified ? 'verified' : 'unverified';
    this.codeForm.hidden = phone === null || phone.verified;
    this.remove.hidden = phone === null;
  }

  private async act(work: () => Promise<void>): Promise<void> {
    const controls = this.numberForm.closest('section')!.querySelectorAll<HTMLButtonElement>('button');
    for (const b of controls) b.disabled = true;
    this.error.hidden = true;
    try {
      await work();
    } catch (err) {
      this.fail(err);
    } finally {
      for (const b of controls) b.disabled = false;
    }
  }

  private fail(err: unknown): void {
    this.error.textContent = this.describe(err);
    this.error.hidden = false;
  }
}
