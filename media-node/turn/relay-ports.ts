/**
 * Relay ports for the embedded TURN server (embedded-turn.ts): binding a relay socket in the configured
 * range, and the even/odd port pairs of EVEN-PORT with the odd port held behind a RESERVATION-TOKEN.
 *
 * node-turn's own port choice cannot be used: it cannot read EVEN-PORT, binds the client's source port as
 * the relay port for it, and throws on RESERVATION-TOKEN (docs/turn.md).
 */
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { isIP } from 'node:net';

export type RelayFamily = 'udp4' | 'udp6';

/** The socket type for relay sockets bound to `ip`. */
export function relayFamily(ip: string): RelayFamily {
  return isIP(ip) === 6 ? 'udp6' : 'udp4';
}

/** How long the odd port after an EVEN-PORT (R bit) allocation stays reserved for its RESERVATION-TOKEN. */
const RESERVATION_MS = 30_000;
/** Random ports tried before an Allocate is refused with 508. */
const BIND_ATTEMPTS = 64;

/** A bound relay socket waiting for the Allocate that names its token. */
interface Reservation {
  socket: Socket;
  /** The identity that may claim it: the one whose allocation made the reservation. */
  user: string;
  timer: NodeJS.Timeout;
}

export class RelayPorts {
  readonly #ip: string;
  readonly #family: RelayFamily;
  readonly #minPort: number;
  readonly #maxPort: number;
  readonly #reservations = new Map<string, Reservation>();

  constructor(ip: string, minPort: number, maxPort: number) {
    this.#ip = ip;
    this.#family = relayFamily(ip);
    this.#minPort = minPort;
    this.#maxPort = maxPort;
  }

  get family(): RelayFamily {
    return this.#family;
  }

  /** Ports now held for a RESERVATION-TOKEN. */
  get reservations(): number {
    return this.#reservations.size;
  }

  /** A socket on a random free port of the range, or undefined when none was found. */
  async bindAny(): Promise<Socket | undefined> {
    for (let i = 0; i < BIND_ATTEMPTS; i++) {
      const s = await bindUdp(
        this.#family,
        this.#ip,
        this.#minPort + Math.floor(Math.random() * (this.#maxPort - this.#minPort + 1)),
      );
      if (s) return s;
    }
    return undefined;
  }

  /** An even port, and with `reserveNext` the odd port after it as well (EVEN-PORT with the R bit). */
  async bindEven(reserveNext: boolean): Promise<[Socket, Socket | undefined] | undefined> {
    const first = this.#minPort + (this.#minPort % 2);
    const pairs = Math.floor((this.#maxPort - first + (reserveNext ? 0 : 1)) / 2);
    if (pairs < 1) return undefined;
    for (let i = 0; i < BIND_ATTEMPTS; i++) {
      const port = first + 2 * Math.floor(Math.random() * pairs);
      const a = await bindUdp(this.#family, this.#ip, port);
      if (!a) continue;
      if (!reserveNext) return [a, undefined];
      const b = await bindUdp(this.#family, this.#ip, port + 1);
      if (b) return [a, b];
      closeQuietly(a);
    }
    return undefined;
  }

  /** Holds `socket` for `user` for 30 s (then closes it); returns the RESERVATION-TOKEN that claims it. */
  reserve(socket: Socket, user: string): string {
    // 8 ASCII characters: node-turn writes the token as a string into the 8-byte attribute.
    const token = randomBytes(4).toString('hex');
    const timer = setTimeout(() => {
      this.#reservations.delete(token);
      closeQuietly(socket);
    }, RESERVATION_MS);
    timer.unref();
    this.#reservations.set(token, { socket, user, timer });
    return token;
  }

  /** The reserved socket for `token` if `user` made the reservation (it is then no longer reserved). */
  claim(token: string, user: string): Socket | undefined {
    const r = this.#reservations.get(token);
    if (!r || r.user !== user) return undefined;
    clearTimeout(r.timer);
    this.#reservations.delete(token);
    return r.socket;
  }

  /** Closes every reserved socket. */
  close(): void {
    for (const [token, r] of this.#reservations) {
      clearTimeout(r.timer);
      closeQuietly(r.socket);
      this.#reservations.delete(token);
    }
  }
}

export function bindUdp(type: RelayFamily, address: string, port: number): Promise<Socket | undefined> {
  return new Promise((resolve) => {
    const s = createSocket({ type });
    s.once('error', () => {
      closeQuietly(s);
      resolve(undefined);
    });
    s.bind({ address, port, exclusive: true }, () => {
      s.removeAllListeners('error');
      s.on('error', () => {});
      resolve(s);
    });
  });
}

export function closeQuietly(s: Socket): void {
  try {
    s.close();
  } catch {
    // already closed
  }
}
