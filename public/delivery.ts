/**
 * "When you're away": per channel, whether unseen notifications go out by push
 * and by email, and quiet hours (start, end, IANA time zone) during which they
 * wait. One form, saved with one PUT /preferences; the server's rules are the
 * only ones (its 400 is shown as it is, with the field it names marked).
 */
import {
  CHANNELS,
  DELIVERY_METHOD_INFO,
  DELIVERY_METHODS,
  perKey,
  type Channel,
  type DeliveryMethod,
  type Preferences,
  type QuietHours,
} from '../client/index.js';

/** The browser's own zone: what a new user most likely means. */
export function browserTimeZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

export class DeliveryForm {
  private readonly quiet: HTMLInputElement;
  private readonly start: HTMLInputElement;
  private readonly end: HTMLInputElement;
  private readonly zone: HTMLInputElement;

  constructor(readonly form: HTMLFormElement) {
    const input = (name: string) => form.elements.namedItem(name) as HTMLInputElement;
    this.quiet = input('quietHours');
    this.start = input('quietHours.start');
    this.end = input('quietHours.end');
    this.zone = input('quietHours.timeZone');
    this.quiet.addEventListener('change', () => this.syncQuiet());
    form.addEventListener('input', (e) => (e.target as HTMLElement).removeAttribute('aria-invalid'));
    this.fillZones();
    this.show(null);
  }

  private method(channel: Channel, method: DeliveryMethod): HTMLInputElement {
    return this.form.elements.namedItem(`delivery.${channel}.${method}`) as HTMLInputElement;
  }

  /** Suggestions for the time zone field; any name may be typed, the server decides. */
  private fillZones(): void {
    const list = document.getElementById(this.zone.getAttribute('list') ?? '');
    if (!list || typeof Intl.supportedValuesOf !== 'function') return;
    list.replaceChildren(
      ...Intl.supportedValuesOf('timeZone').map((zone) =>
        Object.assign(document.createElement('option'), { value: zone }),
      ),
    );
  }

  private syncQuiet(): void {
    for (const field of [this.start, this.end, this.zone]) field.disabled = !this.quiet.checked;
  }

  /** The server's preferences into the form (null: nothing loaded yet, the defaults). */
  show(prefs: Preferences | null): void {
    for (const channel of CHANNELS)
      for (const method of DELIVERY_METHODS)
        this.method(channel, method).checked =
          prefs?.delivery?.[channel]?.[method] ?? DELIVERY_METHOD_INFO[method].enabledByDefault;
    const quiet = prefs?.quietHours ?? null;
    this.quiet.checked = quiet !== null;
    this.start.value = quiet?.start ?? '22:00';
    this.end.value = quiet?.end ?? '07:00';
    this.zone.value = quiet?.timeZone ?? browserTimeZone();
    this.syncQuiet();
    this.markInvalid(null);
  }

  /** What PUT /preferences gets: every channel's methods, and the quiet hours or null. */
  value(): { delivery: Preferences['delivery']; quietHours: QuietHours | null } {
    const delivery = perKey(CHANNELS, (channel) =>
      perKey(DELIVERY_METHODS, (method) => this.method(channel, method).checked),
    );
    const quietHours = this.quiet.checked
      ? { start: this.start.value, end: this.end.value, timeZone: this.zone.value.trim() }
      : null;
    return { delivery, quietHours };
  }

  /**
   * The server's messages name their field first ("quietHours.timeZone must be …"),
   * joined by "; ": mark the fields they name, by full path or last segment.
   */
  markInvalid(text: string | null): void {
    const parts = text === null ? [] : text.split('; ');
    for (const field of this.form.querySelectorAll<HTMLInputElement>('input[name^="quietHours."]')) {
      const name = field.name;
      const short = name.slice(name.lastIndexOf('.') + 1);
      if (parts.some((part) => part.startsWith(`${name} `) || part.startsWith(`${short} `)))
        field.setAttribute('aria-invalid', 'true');
      else field.removeAttribute('aria-invalid');
    }
  }
}
