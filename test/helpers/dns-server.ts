/**
 * A DNS server for tests: dns2 (pinned 3.0.0) answering MX and A records
 * from a small zone, over UDP on 127.0.0.1 at a free port. Names not
 * in the zone answer NXDOMAIN; names with no record of the asked type answer
 * NOERROR with no answers (ENODATA to node's resolver).
 */
import dns2 from 'dns2';

const { Packet } = dns2;

/** A zone: per lower-case name, its MX and A records. */
export interface TestZone {
  [name: string]: { mx?: Array<{ exchange: string; priority: number }>; a?: string[] };
}

export interface TestDnsServer {
  port: number;
  /** For node's Resolver#setServers and MAILROOM_DNS_SERVERS. */
  server: string;
  zone: TestZone;
  /** Queries seen, as "TYPE name". */
  queries: string[];
  stop(): Promise<void>;
}

const NXDOMAIN = 3;

export async function startDnsServer(zone: TestZone): Promise<TestDnsServer> {
  const queries: string[] = [];
  const server = dns2.createServer({
    udp: true,
    handle: (request, send) => {
      const response = Packet.createResponseFromRequest(request);
      response.header.aa = 1;
      const question = request.questions[0];
      if (!question) return send(response);
      const name = question.name.toLowerCase().replace(/\.$/, '');
      queries.push(`${question.type === Packet.TYPE.MX ? 'MX' : question.type === Packet.TYPE.A ? 'A' : question.type} ${name}`);
      const entry = zone[name];
      if (!entry) {
        response.header.rcode = NXDOMAIN;
        return send(response);
      }
      // Plain records: dns2 encodes them by type (its typings want a toBuffer the encoder does not use).
      if (question.type === Packet.TYPE.MX) {
        for (const mx of entry.mx ?? []) response.answers.push({ name: question.name, type: Packet.TYPE.MX, class: Packet.CLASS.IN, ttl: 60, exchange: mx.exchange, priority: mx.priority } as never);
      } else if (question.type === Packet.TYPE.A) {
        for (const address of entry.a ?? []) response.answers.push({ name: question.name, type: Packet.TYPE.A, class: Packet.CLASS.IN, ttl: 60, address } as never);
      }
      send(response);
    },
  });
  await server.listen({ udp: { port: 0, address: '127.0.0.1' } });
  const port = (server.addresses() as { udp: { port: number } }).udp.port;
  return {
    port,
    server: `127.0.0.1:${port}`,
    zone,
    queries,
    stop: async () => {
      await server.close();
    },
  };
}
