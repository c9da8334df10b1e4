/**
 * The client matrix: every sentinel-aware client the README documents, as a writer that writes one
 * point every 10 ms through the sentinels. ioredis runs in-process ({@link PointWriter}); redis-py,
 * go-redis and Lettuce run as their own processes (testing/clients/, built by
 * scripts/install-clients.sh into ~/.cache/tile38-ha/clients, pinned versions).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ProcessWriter } from "./processWriter";
import { Ack, PointWriter } from "./writer";

export const CLIENT_NAMES = ["ioredis", "redis-py", "go-redis", "lettuce"] as const;
export type ClientName = (typeof CLIENT_NAMES)[number];

/** Pinned versions (the install script and the client projects pin the same). */
export const CLIENT_VERSIONS: Record<ClientName, string> = {
    ioredis: "5.8.2",
    "redis-py": "5.2.1",
    "go-redis": "v9.17.2",
    lettuce: "7.7.0.RELEASE",
};

/** What the drill and the tests need of a writer, whichever client it runs. */
export interface ClientWriter {
    readonly acks: Ack[];
    readonly recentErrors: string[];
    /** Every failed write (message, sent, failed; ms since epoch). */
    readonly errorLog: { message: string; sentAt: number; at: number }[];
    start(): void;
    stop(): Promise<void>;
    close(): Promise<void>;
    firstAckSentAfter(t: number): Ack | undefined;
}

export interface WriterTarget {
    sentinels: { host: string; port: number }[];
    masterName: string;
    tile38Password: string;
    sentinelPassword: string;
}

const REPO = path.resolve(__dirname, "../..");
export const CLIENTS_DIR = path.join(REPO, "testing", "clients");

/** Where scripts/install-clients.sh puts the pinned clients. */
export function clientsCache(): string {
    return process.env.TILE38_HA_CLIENTS ?? path.join(os.homedir(), ".cache", "tile38-ha", "clients");
}

interface Launch {
    command: string;
    args: string[];
    cwd?: string;
}

function launch(name: Exclude<ClientName, "ioredis">): Launch {
    const cache = clientsCache();
    switch (name) {
        case "redis-py":
            return { command: path.join(cache, `redis-py-${CLIENT_VERSIONS["redis-py"]}`, "bin", "python"), args: [path.join(CLIENTS_DIR, "redis-py", "writer.py")], cwd: path.join(CLIENTS_DIR, "redis-py") };
        case "go-redis":
            return { command: path.join(cache, `go-redis-${CLIENT_VERSIONS["go-redis"]}`, "tile38-writer"), args: [] };
        case "lettuce": {
            const dir = path.join(cache, `lettuce-${CLIENT_VERSIONS.lettuce}`);
            return { command: "java", args: ["-Xss512k", "-XX:TieredStopAtLevel=1", "-cp", `${path.join(dir, "classes")}:${path.join(dir, "lib", "*")}`, "tile38ha.Writer"] };
        }
    }
}

/** Why client `name` cannot run here (not installed), or undefined when it can. */
export function clientSkipReason(name: ClientName): string | undefined {
    if (name === "ioredis") return undefined;
    const l = launch(name);
    const probe = name === "lettuce" ? path.join(clientsCache(), `lettuce-${CLIENT_VERSIONS.lettuce}`, "classes", "tile38ha", "Writer.class") : l.command;
    if (!fs.existsSync(probe)) return `${name} ${CLIENT_VERSIONS[name]} is not installed (${probe} missing): run scripts/install-clients.sh`;
    return undefined;
}

/** A writer of client `name` (not started); `logDir` receives the writer process's stderr. */
export function clientWriter(name: ClientName, t: WriterTarget, prefix: string, logDir: string): ClientWriter {
    if (name === "ioredis") return new PointWriter(t, prefix);
    const l = launch(name);
    return new ProcessWriter({
        name,
        command: l.command,
        args: l.args,
        cwd: l.cwd,
        logFile: path.join(logDir, `client-${name}-${prefix}.log`),
        env: {
            PATH: process.env.PATH ?? "/usr/bin:/bin",
            HOME: os.homedir(),
            SENTINELS: t.sentinels.map((s) => `${s.host}:${s.port}`).join(","),
            MASTER_NAME: t.masterName,
            TILE38_PASSWORD: t.tile38Password,
            SENTINEL_PASSWORD: t.sentinelPassword,
            INTERVAL_MS: "10",
            PREFIX: prefix,
            KEY: "fleet",
        },
    });
}
