/**
 * Where the write pause under AOF compaction comes from (issue 27): one leader and two followers
 * (plain tile38-server on loopback, ports 27600-27602, no product scripts), 10 k points churned at
 * 2000 SET/s, a writer sending one SET every 10 ms and timing each acknowledgement. At known
 * moments it does, one at a time, what a compaction brings: the node's own commands before
 * AOFSHRINK (KEYS, the `SET !tile38-ha aof-epoch` marker), AOFSHRINK alone (its end polled every
 * 10 ms), and a follower's restart (the reload). The leader runs under strace (fsync, rename,
 * unlink, with their durations), and a 10 ms timer measures this process's own event-loop lag, so
 * that a slow acknowledgement can be told apart from a client that was not scheduled.
 *
 *   npx ts-node --transpile-only scripts/compactionPause.ts [--no-strace]
 */
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import Redis from "ioredis";
import { machine } from "../testing/machine";

const PORTS = [27600, 27601, 27602];
const POINTS = 10_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Gap { at: number; ms: number; }

async function main(): Promise<void> {
    const traced = !process.argv.includes("--no-strace");
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "compaction-pause-"));
    const procs: ChildProcess[] = [];
    const start = (i: number): ChildProcess => {
        const dir = path.join(root, `n${i}`);
        fs.mkdirSync(dir, { recursive: true });
        const args = ["-h", "127.0.0.1", "-p", String(PORTS[i]), "-d", dir];
        const p = i === 0 && traced
            ? spawn("strace", ["-f", "-ttt", "-T", "-e", "trace=fsync,fdatasync,rename,renameat,unlink,unlinkat", "-o", path.join(root, "strace.txt"), "tile38-server", ...args], { stdio: ["ignore", "ignore", fs.openSync(path.join(root, `n${i}.log`), "a")] })
            : spawn("tile38-server", args, { stdio: ["ignore", "ignore", fs.openSync(path.join(root, `n${i}.log`), "a")] });
        procs[i] = p;
        return p;
    };
    const client = (i: number) => new Redis({ port: PORTS[i], host: "127.0.0.1", maxRetriesPerRequest: 1, retryStrategy: () => 100, lazyConnect: false });
    const events: { at: number; what: string; endAt?: number }[] = [];
    const mark = (what: string) => { const e: { at: number; what: string; endAt?: number } = { at: Date.now(), what }; events.push(e); return e; };
    try {
        for (const i of [0, 1, 2]) start(i);
        await sleep(1500);
        const leader = client(0);
        for (const i of [1, 2]) await client(i).call("FOLLOW", "127.0.0.1", String(PORTS[0]));
        // Ten updates of every point: history for the rewrite to drop.
        for (let k = 0; k < 10; k++) {
            for (let s = 0; s < POINTS; s += 2000) {
                const p = leader.pipeline();
                for (let id = s; id < s + 2000; id++) p.call("SET", "fleet", `truck${id}`, "POINT", String(33 + k / 1000), String(-112 - id / 100_000));
                await p.exec();
            }
        }
        const acks: { sentAt: number; ackAt: number }[] = [];
        const lags: Gap[] = [];
        let running = true;
        // This process's event loop: a 10 ms timer that fires late says the client was not scheduled.
        let tick = Date.now();
        const lagTimer = setInterval(() => { const now = Date.now(); if (now - tick > 60) lags.push({ at: tick, ms: now - tick }); tick = now; }, 10);
        const writer = (async () => {
            const w = client(0);
            for (let n = 0; running; n++) {
                const sentAt = Date.now();
                await w.call("SET", "writes", `w${n}`, "POINT", "33", "-112");
                acks.push({ sentAt, ackAt: Date.now() });
                const wait = sentAt + 10 - Date.now();
                if (wait > 0) await sleep(wait);
            }
            w.disconnect();
        })();
        const churn = (async () => {
            const c = client(0);
            for (let round = 0; running; round++) {
                const began = Date.now();
                const p = c.pipeline();
                for (let j = 0; j < 200; j++) { const id = (round * 200 + j) % POINTS; p.call("SET", "fleet", `truck${id}`, "POINT", String(34 + round / 1e5), String(-112 - id / 100_000)); }
                await p.exec();
                const wait = began + 100 - Date.now();
                if (wait > 0) await sleep(wait);
            }
            c.disconnect();
        })();
        const rewriting = async () => /aof_rewrite_in_progress:1/.test(String(await leader.call("INFO", "persistence")));
        const shrink = async () => {
            const e = mark("AOFSHRINK");
            await leader.call("AOFSHRINK");
            while (await rewriting()) await sleep(10);
            e.endAt = Date.now();
        };
        const schedule: [number, string, () => Promise<unknown>][] = [
            [8000, "KEYS * + SET marker", async () => { mark("KEYS * + SET marker"); await leader.call("KEYS", "*"); await leader.call("SET", "!tile38-ha", "aof-epoch", "STRING", String(Date.now())); }],
            [14000, "AOFSHRINK", shrink],
            [22000, "AOFSHRINK", shrink],
            [30000, "follower 2 restart", async () => { mark("follower 2 restart"); procs[1].kill("SIGINT"); await sleep(500); start(1); }],
            [38000, "follower 3 restart", async () => { mark("follower 3 restart"); procs[2].kill("SIGINT"); await sleep(500); start(2); }],
            [46000, "KEYS * + SET marker, AOFSHRINK", async () => { mark("KEYS * + SET marker"); await leader.call("KEYS", "*"); await leader.call("SET", "!tile38-ha", "aof-epoch", "STRING", String(Date.now())); await shrink(); }],
        ];
        const t0 = Date.now();
        for (const [at, , act] of schedule) { await sleep(t0 + at - Date.now()); await act(); }
        await sleep(t0 + 54_000 - Date.now());
        running = false;
        await Promise.all([writer, churn]);
        clearInterval(lagTimer);
        leader.disconnect();

        const load = fs.readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
        const rel = (t: number) => `${((t - t0) / 1000).toFixed(3)} s`;
        const gaps: Gap[] = [];
        for (let i = 1; i < acks.length; i++) gaps.push({ at: acks[i - 1].ackAt, ms: acks[i].ackAt - acks[i - 1].ackAt });
        const slow = acks.filter((a) => a.ackAt - a.sentAt >= 50).map((a) => ({ at: a.sentAt, ms: a.ackAt - a.sentAt }));
        const syscalls = traced ? fs.readFileSync(path.join(root, "strace.txt"), "utf8").split("\n").map((l) => /^\d+\s+([\d.]+)\s+(\w+)\(.*<([\d.]+)>$/.exec(l)).filter((m): m is RegExpExecArray => !!m).map((m) => ({ at: Math.round(Number(m[1]) * 1000), what: m[2], ms: Math.round(Number(m[3]) * 1000) })) : [];
        const out: string[] = [];
        out.push(`machine: ${machine()}; load average at the end ${load}; ${acks.length} acknowledged writes`);
        out.push(`events: ${events.map((e) => `${e.what} at ${rel(e.at)}${e.endAt ? ` (ended ${e.endAt - e.at} ms later)` : ""}`).join("; ")}`);
        const within = (t: number, from: number, to: number) => t >= from && t <= to;
        const windows = [{ what: "baseline 0-8 s", from: t0, to: t0 + 8000 }, ...events.map((e) => ({ what: e.what, from: e.at, to: (e.endAt ?? e.at) + 2500 }))];
        for (const w of windows) {
            const sl = slow.filter((s) => within(s.at, w.from, w.to));
            const fs_ = syscalls.filter((s) => within(s.at, w.from, w.to) && /sync/.test(s.what));
            out.push(`${w.what} (${rel(w.from)}-${rel(w.to)}): slowest write ${Math.max(0, ...sl.map((s) => s.ms))} ms, writes ≥50 ms ${sl.length}, longest fsync ${Math.max(0, ...fs_.map((s) => s.ms))} ms, event-loop lag ≥60 ms ${lags.filter((l) => within(l.at, w.from, w.to)).length}`);
        }
        out.push("slowest acknowledgements (sent at, ms) with what the leader's syscalls and this client's event loop did around them:");
        for (const s of [...slow].sort((a, b) => b.ms - a.ms).slice(0, 12)) {
            const near = syscalls.filter((c) => c.at + c.ms >= s.at - 20 && c.at <= s.at + s.ms).map((c) => `${c.what} ${c.ms} ms at ${rel(c.at)}`);
            const lag = lags.filter((l) => l.at + l.ms >= s.at && l.at <= s.at + s.ms).map((l) => `${l.ms} ms`);
            const ev = events.filter((e) => within(s.at, e.at - 100, (e.endAt ?? e.at) + 2500)).map((e) => e.what);
            out.push(`  ${rel(s.at)} ${s.ms} ms; syscalls: ${near.join(", ") || "-"}; event-loop lag: ${lag.join(", ") || "-"}; during: ${ev.join(", ") || "-"}`);
        }
        // Each rewrite's syscalls: its last fsync, renames and unlink run under the server's lock.
        for (const e of events.filter((x) => x.endAt)) {
            const mine = syscalls.filter((c) => within(c.at, e.at, e.endAt! + 50)).map((c) => `${c.what} ${c.ms} ms at +${c.at - e.at} ms`);
            out.push(`${e.what} at ${rel(e.at)}: ${mine.join(", ") || "no syscall traced"}`);
        }
        const allSync = syscalls.filter((c) => /sync/.test(c.what)).map((c) => c.ms).sort((a, b) => a - b);
        if (allSync.length) out.push(`leader fsyncs: ${allSync.length}, median ${allSync[Math.floor(allSync.length / 2)]} ms, p90 ${allSync[Math.floor(allSync.length * 0.9)]} ms, max ${allSync[allSync.length - 1]} ms`);
        const shrinkLines = fs.readFileSync(path.join(root, "n0.log"), "utf8").split("\n").filter((l) => /aof shrink ended/.test(l));
        out.push(`leader log: ${shrinkLines.map((l) => l.replace(/\x1b\[[0-9;]*m/g, "").trim()).join(" | ")}`);
        process.stdout.write(out.join("\n") + "\n");
    } finally {
        // strace killed leaves its tracee running: the server first (the children of that strace).
        if (traced && procs[0]?.pid) spawnSync("pkill", ["-KILL", "-P", String(procs[0].pid)]);
        for (const p of procs) p?.kill("SIGKILL");
        await sleep(300);
        fs.rmSync(root, { recursive: true, force: true });
    }
}

main().then(() => process.exit(0), (e) => { process.stderr.write(`${(e as Error).stack}\n`); process.exit(1); });
