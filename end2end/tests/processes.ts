// Private processes for browser tests that take the service away or need other settings: a Ferry
// server (the binary that `cargo leptos end-to-end` built), a redis-server and an HTTP file server
// (the origin), each on a free port, so the shared test server is never disturbed; and an OTLP
// trace receiver.
import { spawn, type ChildProcess } from "node:child_process";
import http from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import protobuf from "protobufjs";

const repoRoot = path.resolve(__dirname, "..", "..");

/** A port nobody listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Calls `probe` every 100 ms until it returns true, or fails after `timeoutMs`. */
async function waitUntil(what: string, probe: () => Promise<boolean>, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${what} did not become ready within ${timeoutMs} ms`);
}

/** A child process whose output is kept for the failure message, stopped with a signal. */
class Service {
  private output = "";
  private exited: Promise<void>;

  constructor(
    readonly name: string,
    private child: ChildProcess,
  ) {
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString()).slice(-20_000);
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    this.exited = new Promise((resolve) => child.once("exit", () => resolve()));
  }

  /** The last lines the process printed. */
  log(): string {
    return this.output;
  }

  /** Sends `signal` and waits until the process has exited. */
  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    await this.exited;
  }
}

function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.setTimeout(500);
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.once("data", (data) => {
      socket.destroy();
      resolve(data.toString() === "+PONG\r\n");
    });
    socket.once("error", () => resolve(false));
    socket.once("timeout", () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/** A private redis-server persisting with AOF in its own directory, so it can be restarted. */
export class PrivateRedis {
  private service?: Service;
  private readonly dir = mkdtempSync(path.join(os.tmpdir(), "ferry-e2e-redis-"));

  private constructor(readonly port: number) {}

  static async start(): Promise<PrivateRedis> {
    const redis = new PrivateRedis(await freePort());
    await redis.startAgain();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts the server (again) on the same port and data, and waits until it answers PING. */
  async startAgain(): Promise<void> {
    const child = spawn(
      "redis-server",
      ["--port", String(this.port), "--bind", "127.0.0.1", "--dir", this.dir, "--save", ""]
        .concat(["--appendonly", "yes", "--appendfsync", "always"]),
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    this.service = new Service("redis-server", child);
    await waitUntil(`redis-server on ${this.port}`, () => answersPing(this.port));
  }

  /** Stops the server gracefully (it flushes its AOF). */
  async stop(): Promise<void> {
    await this.service?.stop("SIGTERM");
  }

  /** Stops the server and deletes its data. */
  async destroy(): Promise<void> {
    await this.service?.stop("SIGKILL");
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A Ferry server of its own, built by `cargo leptos end-to-end` before the tests ran. */
export class PrivateFerry {
  private service?: Service;
  private readonly dir = mkdtempSync(path.join(os.tmpdir(), "ferry-e2e-server-"));

  private constructor(
    readonly port: number,
    private readonly env: Record<string, string>,
  ) {}

  /** Starts a server on a free port with `env` on top of short, test-friendly defaults. */
  static async start(env: Record<string, string>): Promise<PrivateFerry> {
    const ferry = new PrivateFerry(await freePort(), env);
    await ferry.startAgain();
    return ferry;
  }

  get baseURL(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Starts the server (again) on the same port, and waits until `/health` answers 200. */
  async startAgain(): Promise<void> {
    const binary =
      process.env.FERRY_SERVER_BIN ?? path.join(repoRoot, "target", "debug", "server");
    const child = spawn(binary, [], {
      cwd: repoRoot,
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        RUST_LOG: "info",
        LEPTOS_OUTPUT_NAME: "ferry",
        LEPTOS_SITE_ROOT: path.join(repoRoot, "target", "site"),
        LEPTOS_SITE_PKG_DIR: "pkg",
        // cargo-leptos hashed the site's file names and wrote the hashes beside the binary.
        LEPTOS_HASH_FILES: "true",
        LEPTOS_SITE_ADDR: `127.0.0.1:${this.port}`,
        LOCAL_STORAGE_DIR: path.join(this.dir, "results"),
        SHUTDOWN_GRACE_MS: "2000",
        ...this.env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.service = new Service("ferry", child);
    try {
      await waitUntil(`Ferry on ${this.port}`, async () => {
        try {
          return (await fetch(`${this.baseURL}/health`)).ok;
        } catch {
          return false;
        }
      });
    } catch (error) {
      throw new Error(`${String(error)}\n${this.service.log()}`);
    }
  }

  /** Stops the server like an orchestrator does (SIGTERM) and waits for it to exit. */
  async stop(): Promise<void> {
    await this.service?.stop("SIGTERM");
  }

  /** The server's recent output, for failure messages. */
  log(): string {
    return this.service?.log() ?? "";
  }

  /** Stops the server and deletes its files. */
  async destroy(): Promise<void> {
    await this.service?.stop("SIGKILL");
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The bytes of a test file: the same for the same id, different across ids. */
export function originContent(id: number, length: number): Buffer {
  const bytes = Buffer.alloc(length);
  let state = (id * 2654435761) >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    bytes[i] = state & 0xff;
  }
  return bytes;
}

/**
 * An HTTP file server on a free port (Ferry's `ORIGIN=http`): `/files/<id>` answers HEAD and GET
 * for the files it was given, sending each body in pieces `pauseMs` apart, and 404 for the rest.
 */
export class SlowOrigin {
  private constructor(
    private readonly server: http.Server,
    readonly port: number,
  ) {}

  static async start(
    files: Record<number, { content: Buffer; name: string }>,
    pieces: number,
    pauseMs: number,
  ): Promise<SlowOrigin> {
    const server = http.createServer((request, response) => {
      const id = Number(/^\/files\/(\d+)$/.exec(request.url ?? "")?.[1]);
      const file = files[id];
      if (!file) {
        response.writeHead(404).end();
        return;
      }
      response.writeHead(200, {
        "content-length": file.content.length,
        "content-type": "application/octet-stream",
        "content-disposition": `attachment; filename="${file.name}"`,
        etag: `"file-${id}-${file.content.length}"`,
      });
      if (request.method === "HEAD") {
        response.end();
        return;
      }
      const size = Math.ceil(file.content.length / pieces);
      let offset = 0;
      const sendNext = () => {
        if (response.destroyed) return;
        response.write(file.content.subarray(offset, offset + size));
        offset += size;
        if (offset >= file.content.length) response.end();
        else setTimeout(sendNext, pauseMs);
      };
      sendNext();
    });
    const port = await freePort();
    await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
    return new SlowOrigin(server, port);
  }

  /** Ferry's `ORIGIN_URL_TEMPLATE` for this server. */
  get urlTemplate(): string {
    return `http://127.0.0.1:${this.port}/files/{file_id}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

/** One span an OTLP receiver was sent, with ids as lower-case hex. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  /** The span's string attributes. */
  attributes: Record<string, string>;
}

// The OpenTelemetry trace protocol's messages (opentelemetry-proto, collector/trace/v1 and
// trace/v1), with their real field numbers; only the fields these tests read.
const OTLP_TRACES = protobuf.parse(`
  syntax = "proto3";
  message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
  message ResourceSpans { repeated ScopeSpans scope_spans = 2; }
  message ScopeSpans { repeated Span spans = 2; }
  message Span {
    bytes trace_id = 1;
    bytes span_id = 2;
    bytes parent_span_id = 4;
    string name = 5;
    repeated KeyValue attributes = 9;
  }
  message KeyValue { string key = 1; AnyValue value = 2; }
  message AnyValue { oneof value { string string_value = 1; bool bool_value = 2; int64 int_value = 3; } }
`).root.lookupType("ExportTraceServiceRequest");

interface DecodedSpan {
  traceId: Uint8Array;
  spanId: Uint8Array;
  parentSpanId?: Uint8Array;
  name: string;
  attributes?: { key: string; value?: { stringValue?: string } }[];
}

/** A real OTLP/HTTP trace receiver on a free port: decodes every export it is sent. */
export class OtlpReceiver {
  private readonly received: ReceivedSpan[] = [];

  private constructor(private readonly server: http.Server) {}

  static async start(): Promise<OtlpReceiver> {
    const server = http.createServer();
    const receiver = new OtlpReceiver(server);
    server.on("request", (request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        if (request.method !== "POST" || request.url !== "/v1/traces") {
          response.writeHead(404).end();
          return;
        }
        const hex = (bytes?: Uint8Array) => Buffer.from(bytes ?? []).toString("hex");
        const decoded = OTLP_TRACES.toObject(OTLP_TRACES.decode(Buffer.concat(chunks))) as {
          resourceSpans?: { scopeSpans?: { spans?: DecodedSpan[] }[] }[];
        };
        for (const resource of decoded.resourceSpans ?? []) {
          for (const scope of resource.scopeSpans ?? []) {
            for (const span of scope.spans ?? []) {
              const attributes: Record<string, string> = {};
              for (const { key, value } of span.attributes ?? []) {
                if (value?.stringValue !== undefined) attributes[key] = value.stringValue;
              }
              receiver.received.push({
                traceId: hex(span.traceId),
                spanId: hex(span.spanId),
                parentSpanId: hex(span.parentSpanId),
                name: span.name,
                attributes,
              });
            }
          }
        }
        response.writeHead(200, { "content-type": "application/x-protobuf" }).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return receiver;
  }

  /** What `OTEL_EXPORTER_OTLP_ENDPOINT` is set to. */
  get endpoint(): string {
    const { port } = this.server.address() as net.AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  /** The spans of trace `traceId` received so far. */
  spans(traceId: string): ReceivedSpan[] {
    return this.received.filter((span) => span.traceId === traceId);
  }

  async stop(): Promise<void> {
    await new Promise((resolve) => this.server.close(resolve));
  }
}
