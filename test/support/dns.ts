import type { AddressInfo } from 'node:net';
import { isIPv6 } from 'node:net';
import dns2 from 'dns2';

const { Packet } = dns2;
/** RFC 1035's "name error" answer code. */
const NXDOMAIN = 3;

/**
 * A real DNS server on 127.0.0.1 (UDP, the `dns2` package) that answers A and AAAA queries from
 * a table the test sets, NXDOMAIN otherwise. The app reaches it through OUTBOUND_DNS_SERVER, so
 * a name resolves to a loopback address by real resolution, without touching /etc/hosts.
 * `set` may change an answer between connections (DNS rebinding); `queries` counts questions.
 */
export class TestDnsServer {
  private readonly records = new Map<string, string[]>();
  private readonly server = dns2.createUDPServer((request, send) => {
    const response = Packet.createResponseFromRequest(request);
    const [question] = request.questions;
    const name = question.name.toLowerCase();
    this.queries.push(name);
    const addresses = this.records.get(name);
    if (!addresses) response.header.rcode = NXDOMAIN;
    for (const address of addresses ?? []) {
      const type = isIPv6(address) ? Packet.TYPE.AAAA : Packet.TYPE.A;
      if (type === question.type) {
        response.answers.push(Packet.createResourceFromQuestion(question, { type, ttl: 0, address }));
      }
    }
    void send(response);
  });
  readonly queries: string[] = [];
  address = '';

  async start(): Promise<void> {
    await this.server.listen(0, '127.0.0.1');
    this.address = `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** `name` resolves to these addresses (A for IPv4, AAAA for IPv6) from now on. */
  set(name: string, addresses: string[]): void {
    this.records.set(name.toLowerCase(), addresses);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
