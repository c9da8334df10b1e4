/**
 * A fact of tile38-server 1.37.0 that the node life guards against (starts_like_leader,
 * rewrite_pending in tile38-node-life.sh): a follower resumes by finding, with AOFMD5 checksums, how
 * much of its AOF the leader's file holds, then asks `AOF <pos>` in another request. The leader
 * serves whatever file it holds at that moment from `pos`: when a rewrite (AOFSHRINK) ended in
 * between, that is the middle of a command of the new file. Tile38's follower then appends the rest
 * of another file to its own (a protocol error, or on a command boundary a silent splice). Checked
 * here with a real server and the follower's side of the protocol spoken by the test.
 */
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { describeWithTile38 } from "../../testing/fixtures/loopback/cluster";
import { Harness, withLogs } from "../../testing/fixtures/loopback/processes";
import { waitFor } from "../../testing/probe/wait";

const PORT = 27900;
const IDS = 20_000;
const UPDATES = 3;

/** RESP array of bulk strings. */
const command = (...args: (string | number)[]) => `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(String(a))}\r\n${a}\r\n`).join("")}`;

/** Sends `text` on a new connection and returns what arrives until `enough` says so (bounded). */
function exchange(text: string, enough: (got: Buffer) => boolean, timeoutMs = 10_000): Promise<Buffer> {
    return new Promise((resolve, reject) => {
        const socket = net.connect(PORT, "127.0.0.1");
        let got = Buffer.alloc(0);
        const timer = setTimeout(() => {
            socket.destroy();
            reject(new Error(`no complete answer within ${timeoutMs} ms (got ${got.length} bytes)`));
        }, timeoutMs);
        socket.on("data", (d) => {
            got = Buffer.concat([got, d]);
            if (enough(got)) {
                clearTimeout(timer);
                socket.destroy();
                resolve(got);
            }
        });
        socket.on("error", (e) => {
            clearTimeout(timer);
            reject(e);
        });
        socket.write(text);
    });
}

describeWithTile38("tile38-server 1.37.0: AOF <pos> after a rewrite serves the new file from an offset in the old one", () => {
    let h: Harness | undefined;
    afterEach(async () => {
        await h?.cleanup();
        h = undefined;
    });

    it(
        "a position found against the old file, asked for after AOFSHRINK ended, streams the middle of the new file",
        withLogs(
            () => h,
            async () => {
                h = new Harness("tile38-resume");
                const dir = h.dir("data");
                h.start({ name: "tile38", command: "tile38-server", args: ["-h", "127.0.0.1", "-p", String(PORT), "-d", dir, "-q"], env: { PATH: process.env.PATH ?? "" } });
                await waitFor(() => exchange(command("PING"), (b) => b.includes("\r\n"), 1000).then((b) => b.toString().startsWith("+PONG")), { timeoutMs: 10_000, what: "tile38-server answers" });
                // Fleet tracking: the same ids again and again (the AOF holds every update).
                const writes: string[] = [];
                for (let u = 0; u < UPDATES; u++) for (let i = 0; i < IDS; i++) writes.push(command("SET", "fleet", `v${i}`, "POINT", 33 + i * 1e-5, -112 + u * 1e-3));
                await exchange(writes.join(""), (b) => (b.toString().match(/\+OK\r\n/g) ?? []).length >= writes.length, 60_000);
                const aofPath = path.join(dir, "appendonly.aof");
                const old = fs.readFileSync(aofPath);
                // A follower holding the first quarter of this file resumes at its last command's end.
                const pos = old.lastIndexOf("\r\n*", Math.floor(old.length / 4)) + 2;
                const streamFrom = (p: number) => exchange(command("AOF", p), (b) => b.length >= 5 + 64, 10_000).then((b) => b.subarray(0, 5 + 64));
                // Control: before the rewrite, the stream is the old file from pos.
                const before = await streamFrom(pos);
                expect(before.toString("latin1")).toBe(`+OK\r\n${old.subarray(pos, pos + 64).toString("latin1")}`);

                expect((await exchange(command("AOFSHRINK"), (b) => b.includes("\r\n"))).toString()).toMatch(/^\+OK/);
                // AOFSHRINK answers before its rewrite starts (a goroutine): the rewrite has ended once
                // none runs and the file on disk is the new one.
                const rewriteEnded = async () =>
                    fs.statSync(aofPath).size !== old.length &&
                    (await exchange(command("INFO", "persistence"), (b) => /aof_rewrite_in_progress:\d/.test(b.toString()) && b.toString().endsWith("\r\n"), 1000)).toString().includes("aof_rewrite_in_progress:0");
                await waitFor(rewriteEnded, { timeoutMs: 30_000, what: "the rewrite ends" });
                const rewritten = fs.readFileSync(aofPath);
                expect(rewritten.length).toBeLessThan(old.length);
                expect(rewritten.length).toBeGreaterThan(pos);

                // The same request after the rewrite: the new file from the old file's offset.
                const after = (await streamFrom(pos)).subarray(5);
                expect(after.toString("latin1")).toBe(rewritten.subarray(pos, pos + 64).toString("latin1"));
                expect(after.toString("latin1")).not.toBe(old.subarray(pos, pos + 64).toString("latin1"));
                // Not where a command of the new file starts (a follower reads garbage from here) ...
                const commandStarts = new Set<number>([0]);
                for (let i = rewritten.indexOf("\r\n*"); i >= 0; i = rewritten.indexOf("\r\n*", i + 1)) commandStarts.add(i + 2);
                expect(commandStarts.has(pos)).toBe(false);
                // ... and the new file's start differs from the old one's: what the follower checks.
                expect(rewritten.subarray(0, 4096).equals(old.subarray(0, 4096))).toBe(false);
            },
        ),
        120_000,
    );
});
