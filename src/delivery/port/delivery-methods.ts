import { DELIVERY_METHODS, type DeliveryMethod } from '../../../client/registry.js';
import type { DeliveryMethodPlugin } from './delivery-method.js';

/**
 * The delivery-method plug-ins (src/delivery/methods/index.ts), by name, in the registry's
 * order: what escalation, the sender, the sweep, the preferences' check and metrics iterate.
 */
export class DeliveryMethods {
  private readonly byName: ReadonlyMap<DeliveryMethod, DeliveryMethodPlugin>;

  constructor(plugins: readonly DeliveryMethodPlugin[]) {
    const byName = new Map(plugins.map((p) => [p.method, p]));
    const missing = DELIVERY_METHODS.filter((m) => !byName.has(m));
    if (missing.length > 0 || byName.size !== plugins.length) {
      throw new Error(`Delivery-method plug-ins do not match the registry (missing: ${missing.join(', ') || 'none'})`);
    }
    this.byName = byName;
  }

  get names(): readonly DeliveryMethod[] {
    return DELIVERY_METHODS;
  }

  get all(): DeliveryMethodPlugin[] {
    return DELIVERY_METHODS.map((m) => this.get(m));
  }

  get(method: DeliveryMethod): DeliveryMethodPlugin {
    const plugin = this.byName.get(method);
    if (!plugin) throw new Error(`Unknown delivery method: ${method}`);
    return plugin;
  }

  /** SQL: a jsonb object, per method whether `userId` (an SQL expression) has its contact. */
  contactsSql(userId: string): string {
    const pairs = this.all.map((p) => `'${p.method}', ${p.hasContactSql(userId) ?? 'true'}`);
    return `jsonb_build_object(${pairs.join(', ')})`;
  }

  /** Plug-ins whose contact this user lacks, among those that need one to be switched on. */
  needingContact(methods: readonly DeliveryMethod[]): DeliveryMethodPlugin[] {
    return methods.map((m) => this.get(m)).filter((p) => p.contactNeededToEnable !== null);
  }
}
