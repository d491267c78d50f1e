/**
 * The parts of the page that list every channel or delivery method (the tabs,
 * the live-update switches, the "when you are away" table), built from the
 * registry (client/registry.ts) rather than written out in index.html.
 */
import { CHANNEL_INFO, CHANNELS, DELIVERY_METHOD_INFO, DELIVERY_METHODS } from '../client/index.js';

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Record<string, string> = {},
  text?: string,
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Call once, before anything looks the channels' elements up. */
export function buildRegistryViews(root: Document): void {
  const tabs = root.querySelector('nav.channels')!;
  const switches = root.querySelector('#live-updates')!;
  const methods = root.querySelector<HTMLTableElement>('#delivery-form table.methods')!;
  for (const channel of CHANNELS) {
    const { label } = CHANNEL_INFO[channel];
    const tab = el('button', { class: 'channel', type: 'button', 'data-channel': channel });
    tab.append(
      el('span', { class: `channel-icon icon-${channel}`, 'aria-hidden': 'true' }),
      el('span', { class: 'channel-name' }, label),
      el('span', { class: 'badge', 'data-badge': channel, 'data-count': '0' }, '0'),
    );
    tabs.append(tab);

    const toggle = el('label', { class: 'switch' });
    toggle.append(
      el('input', { type: 'checkbox', 'data-pref': channel }),
      el('span', { class: 'switch-track', 'aria-hidden': 'true' }),
      el('span', {}, label),
    );
    switches.append(toggle);

    const row = el('tr');
    row.append(el('th', { scope: 'row' }, label));
    for (const method of DELIVERY_METHODS) {
      const cell = el('td');
      const by = DELIVERY_METHOD_INFO[method].label.toLowerCase();
      cell.append(
        el('input', { type: 'checkbox', name: `delivery.${channel}.${method}`, 'aria-label': `${label} by ${by}` }),
      );
      row.append(cell);
    }
    methods.tBodies[0].append(row);
  }
  const head = methods.tHead!.rows[0];
  for (const method of DELIVERY_METHODS) head.append(el('th', { scope: 'col' }, DELIVERY_METHOD_INFO[method].label));
}
