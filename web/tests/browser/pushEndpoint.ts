// A local push endpoint for the browser tests: stands where a browser maker's push
// service would (Chromium offline has none). It holds its own subscription keys (an
// ECDH P-256 pair and an auth secret), checks each post's VAPID header (RFC 8292: an
// ES256 JWT for this endpoint's origin, signed by the key in `k`) and decrypts the body
// (RFC 8291, aes128gcm) with node's crypto, so what it records is exactly what a
// browser's service worker would be handed.
import { createDecipheriv, createECDH, createHmac, createPublicKey, randomBytes, verify } from "node:crypto";
import { type IncomingMessage, type Server, createServer } from "node:http";

export type Pushed = {
  /** The decrypted payload (the server's Notice JSON). */
  payload: string;
  /** The VAPID public key the post was signed with (`k`), base64url. */
  vapidKey: string;
};

const b64url = (bytes: Buffer): string => bytes.toString("base64url");

function hmac(key: Buffer, ...parts: Buffer[]): Buffer {
  const mac = createHmac("sha256", key);
  for (const part of parts) mac.update(part);
  return mac.digest();
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

export class PushEndpoint {
  readonly received: Pushed[] = [];
  /** Posts it refused, and why (a test fails on any). */
  readonly refused: string[] = [];
  readonly #ecdh = createECDH("prime256v1");
  readonly #auth = randomBytes(16);
  #server: Server | undefined;
  #port = 0;

  static async start(): Promise<PushEndpoint> {
    const endpoint = new PushEndpoint();
    endpoint.#ecdh.generateKeys();
    const server = createServer((req, res) => {
      void readBody(req).then((body) => {
        try {
          endpoint.received.push(endpoint.#accept(req, body));
          res.writeHead(201).end();
        } catch (err) {
          endpoint.refused.push(String(err instanceof Error ? err.message : err));
          res.writeHead(400).end();
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    endpoint.#port = typeof address === "object" && address !== null ? address.port : 0;
    endpoint.#server = server;
    return endpoint;
  }

  get origin(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  /** The subscription a browser would get from its push service. */
  subscription(): { endpoint: string; keys: { p256dh: string; auth: string } } {
    return {
      endpoint: `${this.origin}/push/${b64url(randomBytes(12))}`,
      keys: { p256dh: b64url(this.#ecdh.getPublicKey()), auth: b64url(this.#auth) },
    };
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
  }

  #accept(req: IncomingMessage, body: Buffer): Pushed {
    if (req.method !== "POST") throw new Error(`method ${req.method}`);
    if (req.headers["content-encoding"] !== "aes128gcm") throw new Error(`content-encoding ${req.headers["content-encoding"]}`);
    if (req.headers["ttl"] === undefined) throw new Error("no TTL header");
    const vapidKey = this.#checkVapid(req.headers["authorization"] ?? "");
    return { payload: this.#decrypt(body).toString("utf8"), vapidKey };
  }

  /** RFC 8292: `vapid t=<jwt>, k=<key>`, an ES256 JWT for this origin, unexpired. */
  #checkVapid(header: string): string {
    const t = /t=([^,\s]+)/.exec(header)?.[1];
    const k = /k=([^,\s]+)/.exec(header)?.[1];
    if (!header.startsWith("vapid ") || t === undefined || k === undefined) throw new Error(`authorization ${header}`);
    const [head, claims, signature] = t.split(".");
    if (head === undefined || claims === undefined || signature === undefined) throw new Error("JWT shape");
    const point = Buffer.from(k, "base64url");
    if (point.length !== 65 || point[0] !== 4) throw new Error("k is not an uncompressed P-256 point");
    const key = createPublicKey({
      key: { kty: "EC", crv: "P-256", x: b64url(point.subarray(1, 33)), y: b64url(point.subarray(33)) },
      format: "jwk",
    });
    const ok = verify("sha256", Buffer.from(`${head}.${claims}`), { key, dsaEncoding: "ieee-p1363" }, Buffer.from(signature, "base64url"));
    if (!ok) throw new Error("VAPID signature does not verify");
    const parsed = JSON.parse(Buffer.from(claims, "base64url").toString("utf8")) as { aud?: string; exp?: number; sub?: string };
    if (parsed.aud !== this.origin) throw new Error(`aud ${parsed.aud}, expected ${this.origin}`);
    if (typeof parsed.exp !== "number" || parsed.exp * 1000 < Date.now() || parsed.exp * 1000 > Date.now() + 24 * 3600 * 1000) {
      throw new Error(`exp ${parsed.exp}`);
    }
    if (typeof parsed.sub !== "string" || parsed.sub === "") throw new Error("no sub");
    return k;
  }

  /** RFC 8291 (aes128gcm, one record) with this endpoint's keys. */
  #decrypt(body: Buffer): Buffer {
    const salt = body.subarray(0, 16);
    const idlen = body[20] ?? 0;
    const serverKey = body.subarray(21, 21 + idlen);
    const record = body.subarray(21 + idlen);
    const shared = this.#ecdh.computeSecret(serverKey);
    const info = Buffer.concat([Buffer.from("WebPush: info\0"), this.#ecdh.getPublicKey(), serverKey]);
    const ikm = hmac(hmac(this.#auth, shared), info, Buffer.from([1]));
    const prk = hmac(salt, ikm);
    const cek = hmac(prk, Buffer.from("Content-Encoding: aes128gcm\0"), Buffer.from([1])).subarray(0, 16);
    const nonce = hmac(prk, Buffer.from("Content-Encoding: nonce\0"), Buffer.from([1])).subarray(0, 12);
    const decipher = createDecipheriv("aes-128-gcm", cek, nonce);
    decipher.setAuthTag(record.subarray(record.length - 16));
    const plain = Buffer.concat([decipher.update(record.subarray(0, record.length - 16)), decipher.final()]);
    let end = plain.length - 1;
    while (end >= 0 && plain[end] === 0) end--;
    if (plain[end] !== 2) throw new Error("no last-record delimiter");
    return plain.subarray(0, end);
  }
}
