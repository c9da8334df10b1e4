/**
 * The pure parts of components/render/scripts/lib.sh and tile38-config.sh, run under busybox sh
 * (the shell of the Tile38 and Redis Alpine images) with canned server replies: RESP framing and
 * reply parsing, the sentinels' majority vote, the Tile38 config writer.
 */
import * as crypto from "crypto";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { SCRIPTS_DIR } from "../../../components/render/scriptFiles";
import { sentinelTiming } from "../../../components/render/sentinelTiming";
import { which } from "../../../testing/fixtures/loopback/busybox";

const busybox = which("busybox");
const describeSh = busybox ? describe : describe.skip;

/** Runs `body` in busybox sh after sourcing lib.sh (and `extra` libraries); returns stdout. */
/** The node life with what it includes before it (as the start script does), as node a:1. */
const NODE_LIFE = ["tile38-node.sh", "tile38-compaction.sh", "tile38-node-life.sh"];
const nodeLifeEnv = (env: Record<string, string>) => ({ NODE_HOST: "a", NODE_PORT: "1", TILE38_PASSWORD: "pw", ...env });

function sh(body: string, env: Record<string, string> = {}, extra: string[] = []): string {
    const libs = ["lib.sh", ...extra].map((f) => `. '${path.join(SCRIPTS_DIR, f)}'`).join("\n");
    return execFileSync(busybox!, ["sh", "-c", `set -eu\nLOG_TAG=test\n${libs}\n${body}`], {
        encoding: "utf8",
        env: { PATH: process.env.PATH ?? "", LC_ALL: "C", ...env },
    });
}

/** A `sentinel_call` that answers GET-MASTER-ADDR-BY-NAME from a table (host:port → "h p" or nothing). */
function cannedSentinels(answers: Record<string, string | undefined>): string {
    const cases = Object.entries(answers)
        .map(([s, a]) => (a ? `${s}) printf '*2\\n$%d\\n%s\\n$%d\\n%s\\n' ${a.split(" ")[0].length} ${a.split(" ")[0]} ${a.split(" ")[1].length} ${a.split(" ")[1]} ;;` : `${s}) return 0 ;;`))
        .join("\n    ");
    return `sentinel_call() {\n  case "$1" in\n    ${cases}\n  esac\n}\n`;
}

describeSh("lib.sh under busybox sh", () => {
    it("frames commands in RESP with byte lengths", () => {
        expect(sh("resp SET fleet 'a b' POINT 1 2")).toBe("*6\r\n$3\r\nSET\r\n$5\r\nfleet\r\n$3\r\na b\r\n$5\r\nPOINT\r\n$1\r\n1\r\n$1\r\n2\r\n");
    });

    it("reads INFO fields, JSON fields and RESP pair replies", () => {
        expect(sh(`printf 'role:slave\\nmaster_host:tile38-0.x\\nslave_priority:0\\n' | info_field master_host`)).toBe("tile38-0.x\n");
        expect(sh(`info_leader "$(printf 'role:slave\\nmaster_host:tile38-0.x\\nmaster_port:9851\\n')"`)).toBe("tile38-0.x:9851\n");
        const json = '{"ok":true,"stats":{"aof_size":57,"caught_up":false,"caught_up_once":true,"following":"127.0.0.1:9851","read_only":false}}';
        expect(sh(`printf '%s' '${json}' | json_field aof_size`).trim()).toBe("57");
        expect(sh(`printf '%s' '${json}' | json_field caught_up`).trim()).toBe("false");
        expect(sh(`printf '%s' '${json}' | json_field caught_up_once`).trim()).toBe("true");
        expect(sh(`printf '%s' '${json}' | json_field following`).trim()).toBe("127.0.0.1:9851");
        const replicas = "*2\n*4\n$4\nname\n$3\nr-1\n$17\nslave-repl-offset\n$3\n120\n*4\n$4\nname\n$3\nr-2\n$17\nslave-repl-offset\n$1\n0\n";
        expect(sh(`printf '${replicas.replace(/\n/g, "\\n")}' | reply_fields slave-repl-offset`)).toBe("120\n0\n");
        // Several fields: one line per array, in the order asked; an array without every field prints nothing.
        expect(sh(`printf '${replicas.replace(/\n/g, "\\n")}' | reply_fields slave-repl-offset name`)).toBe("120 r-1\n0 r-2\n");
        expect(sh(`printf '${replicas.replace(/\n/g, "\\n")}' | reply_fields name flags`)).toBe("");
    });

    it("retry_for retries a command until it succeeds, and gives up after its bound", () => {
        const counter = path.join(os.tmpdir(), `retry-for-${process.pid}`);
        try {
            fs.writeFileSync(counter, "");
            // Succeeds at the third try.
            const third = `third() { echo x >> '${counter}'; [ "$(wc -l < '${counter}')" -ge 3 ]; }\n`;
            expect(sh(`${third}retry_for 5 0.05 third && echo ok`).trim()).toBe("ok");
            expect(fs.readFileSync(counter, "utf8").split("\n").filter(Boolean)).toHaveLength(3);
            // Never succeeds: gives up once its bound (whole seconds) has passed, having tried again meanwhile.
            fs.writeFileSync(counter, "");
            expect(sh(`never() { echo x >> '${counter}'; return 1; }\nretry_for 1 0.1 never || echo gave-up`).trim()).toBe("gave-up");
            expect(fs.readFileSync(counter, "utf8").split("\n").filter(Boolean).length).toBeGreaterThan(1);
        } finally {
            fs.rmSync(counter, { force: true });
        }
    });

    it("strike counts a condition seen in a row: true from the LIMITth on, until cleared", () => {
        expect(sh(`for i in 1 2 3 4; do strike SEEN 3 && echo "$i yes" || echo "$i no"; done; clear_strikes SEEN; strike SEEN 2 || echo "again $SEEN"`).trim())
            .toBe("1 no\n2 no\n3 yes\n4 yes\nagain 1");
    });

    it("tells IP literals from host names", () => {
        const probe = (h: string) => sh(`is_ip_literal '${h}' && echo ip || echo name`).trim();
        for (const h of ["10.238.0.21", "127.0.0.1", "::1", "fd00::5", "[::1]"]) expect([h, probe(h)]).toEqual([h, "ip"]);
        for (const h of ["tile38-0.tile38.default.svc.cluster.local", "localhost", "redis-1", ""]) expect([h, probe(h)]).toEqual([h, "name"]);
    });

    it("takes the leader most sentinels name, breaks ties alike everywhere, and fails when none answers", () => {
        const env = { SENTINELS: "s1:1 s2:2 s3:3", MASTER_NAME: "mymaster", SENTINEL_PASSWORD: "" };
        expect(sh(`${cannedSentinels({ "s1:1": "a 1", "s2:2": "b 2", "s3:3": "b 2" })}leader_from_sentinels`, env)).toBe("b:2\n");
        // One sentinel stranded on a dead leader is outvoted.
        expect(sh(`${cannedSentinels({ "s1:1": "dead 9", "s2:2": "b 2", "s3:3": "b 2" })}leader_from_sentinels`, env)).toBe("b:2\n");
        // Two silent: the one that answers decides.
        expect(sh(`${cannedSentinels({ "s1:1": undefined, "s2:2": "c 3", "s3:3": undefined })}leader_from_sentinels`, env)).toBe("c:3\n");
        // A tie between two answers: the smaller name wins, whatever the order of the answers.
        expect(sh(`${cannedSentinels({ "s1:1": "z 1", "s2:2": "a 1", "s3:3": undefined })}leader_from_sentinels`, env)).toBe("a:1\n");
        expect(sh(`${cannedSentinels({ "s1:1": "a 1", "s2:2": "z 1", "s3:3": undefined })}leader_from_sentinels`, env)).toBe("a:1\n");
        expect(sh(`${cannedSentinels({ "s1:1": undefined, "s2:2": undefined, "s3:3": undefined })}leader_from_sentinels || echo none`, env)).toBe("none\n");
    });

    it("majority_vote breaks a tie by the \"host port\" text, as every version does", () => {
        expect(sh(`printf 'tile38-10:9851\\ntile38-1:9851\\n' | majority_vote`)).toBe("tile38-1:9851\n");
        expect(sh(`printf '::1:9852\\n::1:9851\\n::1:9852\\n' | majority_vote`)).toBe("::1:9852\n");
    });

    it("leader_among asks only the given sentinels", () => {
        const env = { SENTINELS: "s1:1 s2:2 s3:3", MASTER_NAME: "mymaster", SENTINEL_PASSWORD: "" };
        expect(sh(`${cannedSentinels({ "s1:1": "a 1", "s2:2": "b 2", "s3:3": "b 2" })}leader_among s1:1`, env)).toBe("a:1\n");
    });

    it("write_tile38_config keeps Tile38's own keys and resets read_only", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "t38cfg-"));
        try {
            fs.writeFileSync(path.join(dir, "config"), JSON.stringify({ server_id: "abc", read_only: true, follow_host: "old", "replica-priority": 100, nested: { a: "b,c" } }));
            sh("write_tile38_config follower leader-0:9851", {
                DATA_DIR: dir,
                MANAGED_KEYS: "follow_host follow_port requirepass leaderauth replica_announce_ip replica_announce_port replica-priority read_only maxmemory",
                REPLICA_PRIORITY: "100",
                MAXMEMORY: "",
                TILE38_PASSWORD: "pw",
                NODE_HOST: "tile38-1",
                NODE_PORT: "9851",
            }, ["config-password.sh", "tile38-config.sh"]);
            expect(JSON.parse(fs.readFileSync(path.join(dir, "config"), "utf8"))).toEqual({
                server_id: "abc",
                nested: { a: "b,c" },
                follow_host: "leader-0",
                follow_port: 9851,
                requirepass: "pw",
                leaderauth: "pw",
                replica_announce_ip: "tile38-1",
                replica_announce_port: 9851,
                "replica-priority": 0,
                read_only: false,
            });
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("config_password reads a Tile38 config and a sentinel.conf (as written and as Sentinel rewrites it); tile38_password prefers the file only once the server runs", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "t38pw-"));
        try {
            fs.writeFileSync(path.join(dir, "config"), '{\n\t"follow_host": "a",\n\t"leaderauth": "new.pw",\n\t"requirepass": "new.pw",\n\t"server_id": "x"\n}\n');
            fs.writeFileSync(path.join(dir, "written.conf"), "port 5000\nrequirepass s3cr.t:/pw\nsentinel sentinel-pass s3cr.t:/pw\n");
            fs.writeFileSync(path.join(dir, "rewritten.conf"), 'port 5000\nrequirepass "s3cr.t"\nuser default on #ab #cd ~* &* +@all\n');
            fs.writeFileSync(path.join(dir, "none.conf"), "port 5000\n");
            const read = (f: string) => sh(`config_password '${path.join(dir, f)}'`, {}, ["config-password.sh"]);
            expect(read("config")).toBe("new.pw\n");
            expect(read("written.conf")).toBe("s3cr.t:/pw\n");
            expect(read("rewritten.conf")).toBe("s3cr.t\n");
            expect(read("none.conf")).toBe("");
            expect(read("missing")).toBe("");
            const env = { DATA_DIR: dir, TILE38_PASSWORD: "env-pw" };
            expect(sh("tile38_password", env, ["config-password.sh"])).toBe("env-pw\n");
            expect(sh("PASSWORD_IN_CONFIG=1; tile38_password", env, ["config-password.sh"])).toBe("new.pw\n");
            fs.writeFileSync(path.join(dir, "config"), "{}");
            expect(sh("PASSWORD_IN_CONFIG=1; tile38_password", env, ["config-password.sh"])).toBe("env-pw\n");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("sentinel_conf_value reads the passwords a sentinel uses in force (auth-pass of its master, sentinel-pass), as written and as Sentinel rewrites them", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "t38sc-"));
        try {
            fs.writeFileSync(path.join(dir, "sentinel.conf"), 'port 5000\nsentinel monitor mymaster a 1 2\nsentinel auth-pass other x\nsentinel auth-pass mymaster "t.new"\nsentinel sentinel-pass s.new\n');
            fs.writeFileSync(path.join(dir, "none.conf"), "port 5000\n");
            const read = (f: string, args: string) => sh(`sentinel_conf_value '${path.join(dir, f)}' ${args}`, {}, ["config-password.sh"]);
            expect(read("sentinel.conf", "auth-pass mymaster")).toBe("t.new\n");
            expect(read("sentinel.conf", "sentinel-pass")).toBe("s.new\n");
            expect(read("none.conf", "sentinel-pass")).toBe("");
            expect(read("missing", "auth-pass mymaster")).toBe("");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("write_tile38_config keeps a password switched live when the server restarts in the same container", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "t38cfg-"));
        try {
            fs.writeFileSync(path.join(dir, "config"), JSON.stringify({ server_id: "abc", requirepass: "switched", leaderauth: "switched" }));
            const env = {
                DATA_DIR: dir,
                MANAGED_KEYS: "follow_host follow_port requirepass leaderauth replica_announce_ip replica_announce_port replica-priority read_only maxmemory",
                REPLICA_PRIORITY: "100",
                MAXMEMORY: "",
                TILE38_PASSWORD: "from-env",
                NODE_HOST: "tile38-1",
                NODE_PORT: "9851",
            };
            sh("PASSWORD_IN_CONFIG=1; write_tile38_config follower leader-0:9851", env, ["config-password.sh", "tile38-config.sh"]);
            expect(JSON.parse(fs.readFileSync(path.join(dir, "config"), "utf8"))).toMatchObject({ requirepass: "switched", leaderauth: "switched" });
            // A container's first start: its environment is the newest password.
            sh("write_tile38_config follower leader-0:9851", env, ["config-password.sh", "tile38-config.sh"]);
            expect(JSON.parse(fs.readFileSync(path.join(dir, "config"), "utf8"))).toMatchObject({ requirepass: "from-env", leaderauth: "from-env" });
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("write_tile38_config starts a leader read-only (writable once the sentinels have heard from it)", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "t38cfg-"));
        try {
            fs.writeFileSync(path.join(dir, "config"), JSON.stringify({ server_id: "abc", read_only: false, follow_host: "old" }));
            sh("write_tile38_config leader", {
                DATA_DIR: dir,
                MANAGED_KEYS: "follow_host follow_port requirepass leaderauth replica_announce_ip replica_announce_port replica-priority read_only maxmemory",
                REPLICA_PRIORITY: "100",
                MAXMEMORY: "",
                TILE38_PASSWORD: "pw",
                NODE_HOST: "tile38-0",
                NODE_PORT: "9851",
            }, ["config-password.sh", "tile38-config.sh"]);
            const cfg = JSON.parse(fs.readFileSync(path.join(dir, "config"), "utf8")) as Record<string, unknown>;
            expect(cfg.read_only).toBe(true);
            expect(cfg.follow_host).toBeUndefined();
            expect(cfg["replica-priority"]).toBe(100);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    /** A flat RESP array of bulk-string pairs, as rsend prints it (CR removed). */
    const bulkPairs = (pairs: [string, string][]) => [`*${pairs.length * 2}`, ...pairs.flatMap(([k, v]) => [`$${k.length}`, k, `$${v.length}`, v])].join("\n");
    const viewEnv = { SENTINELS: "s1:5000 s2:5000 s3:5000", FENCE_AFTER_MS: "2000", DATA_DIR: os.tmpdir(), MASTER_NAME: "mymaster", SENTINEL_PASSWORD: "pw" };
    const self = 'SELF=tile38-0:9851; is_self() { [ "$1" = "$SELF" ]; }\n';

    it("sentinel_view: the leader a sentinel names, the node it monitors, its flags and last valid PING reply", () => {
        const reply = ["*2", "$8", "tile38-1", "$4", "9851", bulkPairs([["name", "mymaster"], ["ip", "tile38-0"], ["port", "9851"], ["runid", "x"], ["flags", "master,s_down,o_down,failover_in_progress"], ["last-ok-ping-reply", "4321"]]), "+OK"].join("\n");
        const stub = `rsend() { cat >/dev/null; printf '%s\\n' '${reply.split("\n").join("' '")}'; }\n`;
        expect(sh(`${stub}sentinel_view s1:5000`, viewEnv).trim()).toBe("tile38-1:9851 tile38-0:9851 master,s_down,o_down,failover_in_progress 4321");
        const none = `rsend() { cat >/dev/null; printf '*-1\\n'; }\n`;
        expect(() => sh(`${none}sentinel_view s1:5000`, viewEnv)).toThrow();
    });

    it("sentinel_replica_view: the flags, priority and last valid PING reply a sentinel lists for one replica", () => {
        const replica = (name: string, flags: string, prio: string, ping: string) =>
            bulkPairs([["name", name], ["ip", name.split(":")[0]], ["port", "9851"], ["runid", ""], ["flags", flags], ["last-ok-ping-reply", ping], ["slave-priority", prio]]);
        const reply = ["*2", replica("tile38-1:9851", "s_down,slave", "100", "4100"), replica("tile38-2:9851", "slave", "0", "312"), "-ERR unknown command 'QUIT'"].join("\n");
        const stub = `rsend() { cat >/dev/null; printf '%s\\n' '${reply.split("\n").join("' '")}'; }\n`;
        expect(sh(`${stub}sentinel_replica_view s1:5000 tile38-1:9851`, viewEnv).trim()).toBe("s_down,slave 100 4100");
        expect(sh(`${stub}sentinel_replica_view s1:5000 tile38-2:9851`, viewEnv).trim()).toBe("slave 0 312");
        expect(() => sh(`${stub}sentinel_replica_view s1:5000 tile38-9:9851`, viewEnv)).toThrow();
    });

    it("stale_info_wait: an empty node waits only while a sentinel may still trust an INFO of an earlier process at its address", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "t38stale-"));
        try {
            const replica = (name: string, masterHost: string, age: string) =>
                bulkPairs([["name", name], ["runid", ""], ["flags", "slave"], ["info-refresh", age], ["master-host", masterHost], ["slave-priority", "100"]]);
            // Per sentinel: its REPLICAS reply, or nothing (it does not answer).
            const run = (replies: Record<string, string[] | undefined>) => {
                const cases = Object.entries(replies)
                    .map(([s, r]) => `${s}) ${r === undefined ? "return 0" : `printf '%s\\n' '${["*" + r.length, ...r].join("\n").split("\n").join("' '")}' '-ERR unknown command'`} ;;`)
                    .join(" ");
                return sh(`rsend() { cat >/dev/null; case "$1" in ${cases} esac; }\nstale_info_wait`, { ...viewEnv, DATA_DIR: dir, SELF: "tile38-1:9851" }, ["tile38-sentinel-view.sh"]).trim();
            };
            const other = replica("tile38-2:9851", "tile38-0", "1000");
            // A new cluster: the address is unknown, or known from the config but never heard from.
            expect(run({ "s1:5000": [], "s2:5000": [other], "s3:5000": [replica("tile38-1:9851", "?", "0")] })).toBe("0");
            // An INFO 2.5 s old: 4 s more (6 s in all); 7 s old: none.
            expect(run({ "s1:5000": [other, replica("tile38-1:9851", "tile38-0", "2500")], "s2:5000": [], "s3:5000": [replica("tile38-1:9851", "tile38-0", "7000")] })).toBe("4");
            expect(run({ "s1:5000": [replica("tile38-1:9851", "tile38-0", "7000")], "s2:5000": [], "s3:5000": [] })).toBe("0");
            // 0 with a master-host is fresh; a sentinel that does not answer may hold anything.
            expect(run({ "s1:5000": [replica("tile38-1:9851", "tile38-0", "0")], "s2:5000": [], "s3:5000": [] })).toBe("6");
            expect(run({ "s1:5000": [], "s2:5000": undefined, "s3:5000": [] })).toBe("6");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("sentinels_see_me_eligible: a majority lists this follower as promotable (exactly `slave`, priority above 0) and has heard from this incarnation", () => {
        // The server started 10 s ago: a PING reply 500 ms ago is this incarnation's, 12 s ago an earlier one's.
        const run = (views: Record<string, string | undefined>) => {
            const cases = Object.entries(views).map(([s, v]) => `${s}) ${v === undefined ? "return 1" : `echo '${v}'`} ;;`).join(" ");
            return sh(
                `sentinel_replica_view() { case "$1" in ${cases} esac; }\nNODE_HOST=tile38-1; NODE_PORT=9851\nSERVER_STARTED_MS=$(( $(now_ms) - 10000 ))\nsentinels_see_me_eligible && echo yes || echo no`,
                viewEnv,
                ["tile38-sentinel-view.sh"],
            ).trim();
        };
        expect(run({ "s1:5000": "slave 100 500", "s2:5000": "slave 100 700", "s3:5000": undefined })).toBe("yes");
        // Down (a pod back with a new IP, not yet reconnected) or not yet eligible: not ready.
        expect(run({ "s1:5000": "slave 100 500", "s2:5000": "s_down,slave 100 500", "s3:5000": "slave 0 500" })).toBe("no");
        expect(run({ "s1:5000": "slave 100 500", "s2:5000": "slave,disconnected 100 500", "s3:5000": undefined })).toBe("no");
        // Listed as a healthy slave, but last heard from before this server started (the link of
        // an earlier incarnation, not yet found broken): not ready.
        expect(run({ "s1:5000": "slave 100 500", "s2:5000": "slave 100 12000", "s3:5000": "slave 100 10500" })).toBe("no");
        expect(run({ "s1:5000": "slave 100 500", "s2:5000": "slave 100", "s3:5000": undefined })).toBe("no");
    });

    it("confirms_this_incarnation: only a contact after this server started counts", () => {
        const ok = (age: number) => `tile38-0:9851 tile38-0:9851 master ${age}`;
        const run = (startedAgoMs: number, age: number) =>
            sh(`${self}SERVER_STARTED_MS=$(( $(now_ms) - ${startedAgoMs} ))\nconfirms_this_incarnation '${[ok(age), ok(age), ""].join("\n")}' && echo yes || echo no`, viewEnv, ["tile38-handover.sh", "tile38-sentinel-view.sh"]).trim();
        // Heard from 1.5 s ago, but this incarnation started 1 s ago: that was an earlier one.
        expect(run(1000, 1500)).toBe("no");
        expect(run(5000, 300)).toBe("300\nyes");
    });

    it("confirmations / majority_confirms / replacing_me: only a healthy, recent view of this node as leader confirms it", () => {
        const run = (answers: string[], fn: string) => sh(`${self}${fn} '${answers.join("\n")}' && echo yes || echo no`, viewEnv, ["tile38-sentinel-view.sh"]).trim();
        const ok = (age: number) => `tile38-0:9851 tile38-0:9851 master ${age}`;
        expect(run([ok(100), ok(900), ""], "confirmations")).toBe("2 900\nyes");
        expect(run([ok(100), ok(900), ""], "majority_confirms")).toBe("900\nyes");
        // Heard from too long ago by the second most recent sentinel: the fence's clock runs.
        expect(run([ok(100), ok(2500), ok(3000)], "majority_confirms")).toBe("no");
        // Flagged down, naming another node, or monitoring another node: no confirmation.
        expect(run([ok(100), "tile38-0:9851 tile38-0:9851 master,s_down 100", "tile38-1:9851 tile38-1:9851 master 100"], "confirmations")).toBe("1 \nyes");
        // Just switched to this node: its link is still `disconnected`, its contact recent: it confirms.
        expect(run([ok(100), "tile38-0:9851 tile38-0:9851 master,disconnected 207", ""], "majority_confirms")).toBe("207\nyes");
        // A sentinel promoting this node (it names it, SENTINEL MASTER still shows the old leader) confirms it.
        expect(run([ok(300), "tile38-0:9851 tile38-1:9851 master,s_down,o_down,failover_in_progress 5000", ""], "confirmations")).toBe("2 300\nyes");
        expect(run([ok(100), "tile38-0:9851 tile38-0:9851 master,s_down 100", ""], "majority_confirms")).toBe("no");
        expect(run([ok(100), "tile38-0:9851 tile38-0:9851 master,s_down 100", ""], "replacing_me")).toBe("no");
        expect(run([ok(100), "tile38-1:9851 tile38-0:9851 master,s_down,o_down 100", ""], "replacing_me")).toBe("yes");
        expect(run(["tile38-0:9851 tile38-0:9851 master,failover_in_progress 100", "", ""], "replacing_me")).toBe("yes");
        expect(run([ok(100), ok(100), "tile38-1:9851 tile38-1:9851 master,o_down 100"], "replacing_me")).toBe("no");
        // A failover of this node in its reconfiguration phase (naming the node it promoted) that a
        // later failover overtook: the node it promoted takes no writes, or a majority names this node.
        const stale = "tile38-1:9851 tile38-0:9851 master,failover_in_progress 100";
        const promoted = (stats: string) => (answers: string[]) =>
            sh(`${self}node_server() { ${stats ? `echo '{"ok":true,"stats":{${stats}}}'` : "return 1"}; }\nreplacing_me '${answers.join("\n")}' && echo yes || echo no`, viewEnv, ["tile38-sentinel-view.sh"]).trim();
        const other = "tile38-1:9851 tile38-1:9851 master 100";
        // It leads (writable) and no majority names this node: a replacement; a majority naming
        // this node (a later failover) overtook it all the same.
        expect(promoted('"read_only":false')([other, other, stale])).toBe("yes");
        expect(promoted('"read_only":false')([ok(100), ok(100), stale])).toBe("no");
        // It follows, is read-only (handing over), or does not answer: overtaken, even before the others name this node.
        expect(promoted('"following":"tile38-0:9851","read_only":false')([other, other, stale])).toBe("no");
        expect(promoted('"read_only":true')([other, other, stale])).toBe("no");
        expect(promoted("")([other, other, stale])).toBe("no");
        expect(sh(`${self}named_leader '${[ok(1), "tile38-1:9851 tile38-0:9851 master 1", "tile38-1:9851 tile38-1:9851 master 1"].join("\n")}'`, viewEnv, ["tile38-sentinel-view.sh"]).trim()).toBe("tile38-1:9851");
    });

    it("node_life's follower step checks the AOF again against a leader it had verified before, after following another", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "node-life-"));
        try {
            // Leader a:1 holds this node's AOF ("abc") as a prefix; leader b:1's AOF is shorter.
            fs.writeFileSync(path.join(dir, "appendonly.aof"), "abc");
            const body = [
                `node_call() { case "$1" in a:1) echo "+$(printf abc | md5sum | cut -d' ' -f1)" ;; b:1) echo "-ERR EOF" ;; esac; }`,
                "node_call_self() { :; }",
                "follow_the_sentinels() { :; }",
                "AOF_FLUSH_GRACE_MS=0; RESYNC_SETTLE_MS=999999; NODE_STATE=following",
                `step() { _info="role:slave
master_host:\${1%:*}
master_port:\${1##*:}"; _stats='{"caught_up":true,"read_only":false,"aof_size":3}'; follower_step "$_info" "$_stats"; echo "$1 $NODE_STATE"; }`,
                "step a:1; step b:1; step a:1",
            ].join("\n");
            const out = sh(body, nodeLifeEnv({ DATA_DIR: dir }), NODE_LIFE).trim().split("\n");
            expect(out).toEqual(["a:1 verified", "b:1 diverged", "a:1 verified"]);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("node_life: a follower is promotable only while trusted (caught up, its file a prefix of a leader's, never cut, emptied or counted twice since); one whose follow is stuck diverges", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "node-life-"));
        try {
            const aof = path.join(dir, "appendonly.aof");
            fs.writeFileSync(aof, "abc");
            // a:1 and b:1 hold "abcdef"; c:1 holds something else.
            const body = [
                `node_call() { case "$1" in a:1|b:1) echo "+$(printf abcdef | head -c "$4" | md5sum | cut -d' ' -f1)" ;; c:1) echo "+0" ;; esac; }`,
                "node_call_self() { :; }; follow_the_sentinels() { :; }; node_role() { echo master; }",
                "AOF_FLUSH_GRACE_MS=0; RESYNC_SETTLE_MS=999999; NODE_STATE=following",
                `step() { _info="role:slave
master_host:\${1%:*}
master_port:\${1##*:}"; _stats='{"caught_up":'"$2"',"caught_up_once":true,"read_only":false,"aof_size":'"$3"'}'; follower_step "$_info" "$_stats"; echo "$1 $NODE_STATE [$TRUSTED_LEADER]"; }`,
                // Untrusted until caught up and checked: a prefix alone is not enough.
                "step c:1 false 3",
                "step a:1 false 3",
                "step a:1 true 3",
                // A new leader (a failover): still trusted until it has caught up with that one.
                "step b:1 false 3",
                // Tile38 cut the file: untrusted, also once it holds a prefix again, until caught up.
                "printf zz > \"$DATA_DIR/appendonly.aof\"; step b:1 false 2",
                "printf abcd > \"$DATA_DIR/appendonly.aof\"; step b:1 false 4",
                "step b:1 true 4",
                // Its server counts 600 KiB its file does not hold: untrusted, and `verified` is left.
                "step b:1 true 614400",
                // Not caught up with c:1, which answers, its file no prefix of c:1's, for STUCK_FOLLOW_MS: diverged.
                "NODE_STATE=following; STUCK_FOLLOW_MS=0; step c:1 false 4",
                // Not caught up with b:1, its file a prefix that does not grow: diverged at the second look.
                "NODE_STATE=following; DIVERGED_SINCE=''; STUCK_SINCE=''; STUCK_SIZE=''; step b:1 false 4; step b:1 false 4",
            ].join("\n");
            const out = sh(body, nodeLifeEnv({ DATA_DIR: dir }), NODE_LIFE).trim().split("\n");
            expect(out).toEqual([
                "c:1 following []",
                "a:1 following []",
                "a:1 verified [a:1]",
                "b:1 following [a:1]",
                "b:1 following []",
                "b:1 following []",
                "b:1 verified [b:1]",
                "b:1 reloading []",
                "c:1 diverged []",
                "b:1 following []",
                "b:1 diverged []",
            ]);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("the sentinel's failover-timeout between failovers: lets the next failover start now, never below 2 s, back to the rendered value", () => {
        const run = (body: string) => sh(body, { FAILOVER_TIMEOUT_MS: "18000" }, ["sentinel-failover-delay.sh"]).trim();
        // No failover seen since this sentinel started: the rendered value.
        expect(run(`rearmed_failover_timeout '' 5000`)).toBe("18000");
        // Seen complete 4 s ago: half of (4000 - 1000 margin) is 1500, held at the 2000 minimum.
        expect(run(`rearmed_failover_timeout 1000 5000`)).toBe("2000");
        // 11 s ago: (11000 - 1000) / 2; 2 x 5000 <= the 11 s since (a failover may start now).
        expect(run(`rearmed_failover_timeout 1000 12000`)).toBe("5000");
        // Long ago: the rendered value again.
        expect(run(`rearmed_failover_timeout 1000 60000`)).toBe("18000");
        // The first epoch seen is no failover; a changed one is, at the time it was seen.
        expect(run(`saw_config_epoch 3 100; echo "[$FAILOVER_SEEN_MS]"; saw_config_epoch 3 200; echo "[$FAILOVER_SEEN_MS]"; saw_config_epoch 4 300; echo "[$FAILOVER_SEEN_MS]"`)).toBe("[]\n[]\n[300]");
        // A vote in an epoch whose failover never completed (leader-epoch 5 above config-epoch 4) counts once, when seen ended; a completed one (5, 5) does not.
        expect(run(`attempt_unseen 5 4 && echo yes; saw_attempt_end 5 4 700; echo "[$FAILOVER_SEEN_MS]"; attempt_unseen 5 4 || echo counted; saw_attempt_end 5 4 900; echo "[$FAILOVER_SEEN_MS]"`)).toBe("yes\n[700]\ncounted\n[700]");
        expect(run(`attempt_unseen 5 5 || echo no; attempt_unseen '' 5 || echo none; saw_attempt_end 5 5 700; echo "[$FAILOVER_SEEN_MS]"`)).toBe("no\nnone\n[]");
        // Lowered at once, raised in doublings or to the rendered value, else left.
        expect(run(`failover_timeout_change 18000 2000`)).toBe("2000");
        expect(run(`failover_timeout_change 2000 3000`)).toBe("");
        expect(run(`failover_timeout_change 2000 4000`)).toBe("4000");
        expect(run(`failover_timeout_change 16000 18000`)).toBe("18000");
        expect(run(`failover_timeout_change 18000 18000`)).toBe("");
    });

    it("node_life: a server started as a follower and promoted before its first step leads at once; one started as the leader waits, read-only, for the sentinels to confirm it", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "node-life-"));
        try {
            // The hand-over's failover: one sentinel promotes this node (a:1), the others still name the old leader.
            const answers = ["a:1 b:1 master,failover_in_progress 9000", "b:1 b:1 master 100", "b:1 b:1 master 100"].join("\n");
            const run = (startedAs: string) => {
                fs.rmSync(path.join(dir, "calls"), { force: true });
                const body = [
                    `sentinel_answers() { printf '${answers}\\n'; }`,
                    `node_call_self() { case "$1" in INFO) printf 'role:master\\n' ;; *) echo "$*" >> "$DATA_DIR/calls"; echo +OK ;; esac; }`,
                    `node_server() { echo '{"ok":true,"stats":{"id":"x","read_only":false,"aof_size":5000000,"num_objects":1}}'; }`,
                    "node_call() { echo role:slave; }; stall_guard() { :; }; tune_sentinels() { :; }; mind_clients() { :; }; handover_live() { false; }",
                    "lead_by_name() { :; }; step_down_if_deposed() { :; }; compaction_step() { :; }; mark_ready() { :; }",
                    // One step: the second sleep ends the loop.
                    `sleep() { [ ! -f "$DATA_DIR/slept" ] || { echo "$NODE_STATE"; exit 0; }; touch "$DATA_DIR/slept"; }`,
                    `rm -f "$DATA_DIR/slept"; SERVER_STARTED_MS=$(now_ms); node_life ${startedAs}`,
                ].join("\n");
                const out = sh(body, nodeLifeEnv({ DATA_DIR: dir, SENTINELS: "s1:5 s2:5 s3:5", FENCE_AFTER_MS: "2000", MASTER_NAME: "m", SERVER_PID: "1", REPLICA_PRIORITY: "100", TUNE_EVERY_STEPS: "30" }), [...NODE_LIFE, "tile38-sentinel-view.sh"]).trim();
                const calls = fs.existsSync(path.join(dir, "calls")) ? fs.readFileSync(path.join(dir, "calls"), "utf8").trim().split("\n") : [];
                return { state: out.split("\n").pop(), readOnly: calls.includes("READONLY yes") };
            };
            expect(run("follower")).toEqual({ state: "leading", readOnly: false });
            expect(run("leader")).toEqual({ state: "unconfirmed", readOnly: true });
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("node_life: a follower promoted after catching up for longer than the fence's bound (loading its AOF) leads at once: catching-up keeps its fence clock", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "node-life-"));
        try {
            const answers = ["a:1 b:1 master,failover_in_progress 9000", "b:1 b:1 master 100", "b:1 b:1 master 100"].join("\n");
            // Simulated time: each step a second; INFO refused (catching up) for 4 steps, then role master.
            const body = [
                `echo 10000 > "$DATA_DIR/now"; echo 0 > "$DATA_DIR/steps"; now_ms() { cat "$DATA_DIR/now"; }`,
                `sentinel_answers() { printf '${answers}\\n'; }`,
                `node_call_self() { case "$1" in INFO) [ "$(cat "$DATA_DIR/steps")" -le 4 ] || printf 'role:master\\n' ;; *) echo "$*" >> "$DATA_DIR/calls"; echo +OK ;; esac; }`,
                `node_server() { echo '{"ok":true,"stats":{"id":"x","read_only":false,"aof_size":5000000,"num_objects":1}}'; }`,
                "node_call() { echo role:slave; }; stall_guard() { :; }; tune_sentinels() { :; }; mind_clients() { :; }; handover_live() { false; }; config_follow_target() { false; }",
                "lead_by_name() { :; }; step_down_if_deposed() { :; }; compaction_step() { :; }; mark_ready() { :; }",
                `sleep() { n=$(($(cat "$DATA_DIR/steps") + 1)); [ "$n" -le 5 ] || { echo "$NODE_STATE"; exit 0; }; echo "$n" > "$DATA_DIR/steps"; echo $(($(cat "$DATA_DIR/now") + 1000)) > "$DATA_DIR/now"; }`,
                `SERVER_STARTED_MS=10000; node_life follower`,
            ].join("\n");
            const out = sh(body, nodeLifeEnv({ DATA_DIR: dir, SENTINELS: "s1:5 s2:5 s3:5", FENCE_AFTER_MS: "2000", MASTER_NAME: "m", SERVER_PID: "1", REPLICA_PRIORITY: "100", TUNE_EVERY_STEPS: "30" }), [...NODE_LIFE, "tile38-sentinel-view.sh"]).trim();
            expect(out.split("\n").pop()).toBe("leading");
            expect(fs.existsSync(path.join(dir, "calls")) ? fs.readFileSync(path.join(dir, "calls"), "utf8") : "").not.toContain("READONLY yes");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("node_life: a follower whose leader died ranks itself by AOF size among that leader's eligible followers (orphaned)", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "node-life-"));
        try {
            // Leader d:1 is dead; b:1 follows it with a larger AOF, c:1 a smaller one, e:1 another leader, f:1 is ineligible.
            const info = (leader: string, prio: number) => `role:slave\nmaster_host:${leader.split(":")[0]}\nmaster_port:${leader.split(":")[1]}\nslave_priority:${prio}`;
            const body = [
                `node_call() { case "$1 $2" in "b:1 INFO") printf '${info("d:1", 100)}\n' ;; "c:1 INFO") printf '${info("d:1", 100)}\n' ;; "e:1 INFO") printf '${info("x:1", 100)}\n' ;; "f:1 INFO") printf '${info("d:1", 0)}\n' ;; esac; }`,
                `node_server() { case "$1" in b:1) echo '{"ok":true,"stats":{"aof_size":900}}' ;; c:1) echo '{"ok":true,"stats":{"aof_size":100}}' ;; e:1|f:1) echo '{"ok":true,"stats":{"aof_size":5000}}' ;; esac; }`,
                "node_role() { case $1 in d:1) return 1 ;; *) echo master ;; esac; }",
                "node_call_self() { :; }; follow_the_sentinels() { :; }",
                "NODE_STATE=verified",
                `_info='role:slave
master_host:d
master_port:1'`,
                `_stats='{"caught_up":false,"caught_up_once":true,"read_only":false,"aof_size":500}'`,
                `follower_step "$_info" "$_stats"; echo "$NODE_STATE $ORPHAN_RANK"`,
                // Its leader answers again: following.
                `node_role() { echo master; }; follower_step "$_info" "$_stats"; echo "$NODE_STATE"`,
                // Never caught up: not orphaned (priority 0 anyway).
                `NODE_STATE=following; _stats='{"caught_up":false,"caught_up_once":false,"aof_size":500}'; node_role() { return 1; }; follower_step "$_info" "$_stats"; echo "$NODE_STATE"`,
            ].join("\n");
            const out = sh(body, nodeLifeEnv({ DATA_DIR: dir, TILE38_NODES: "a:1 b:1 c:1 e:1 f:1" }), NODE_LIFE).trim().split("\n");
            expect(out).toEqual(["orphaned 1", "following", "following"]);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("node_life: an orphan follows the leader the sentinels name once that one leads, three checks in a row, without waiting for Sentinel", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "node-life-"));
        try {
            // Its leader d:1 does not answer; the sentinels name b:1, which leads.
            const body = [
                "node_call() { :; }; node_server() { :; }",
                "node_role() { case $1 in d:1) return 1 ;; *) echo master ;; esac; }",
                "leader_from_sentinels() { echo b:1; }; is_self() { [ \"$1\" = \"$SELF\" ]; }",
                `node_call_self() { echo "$*" >> "$DATA_DIR/calls"; echo +OK; }`,
                "NODE_STATE=verified",
                `_info='role:slave
master_host:d
master_port:1'`,
                `_stats='{"caught_up":false,"caught_up_once":true,"read_only":false,"aof_size":500}'`,
                `for i in 1 2 3; do follower_step "$_info" "$_stats"; echo "$NODE_STATE"; done`,
            ].join("\n");
            const out = sh(body, nodeLifeEnv({ DATA_DIR: dir, TILE38_NODES: "a:1 b:1" }), NODE_LIFE).trim().split("\n");
            expect(out).toEqual(["orphaned", "orphaned", "orphaned"]);
            // Only at the third check, and to the named node only.
            expect(fs.readFileSync(path.join(dir, "calls"), "utf8").split("\n").filter((l) => l.startsWith("FOLLOW"))).toEqual(["FOLLOW b 1"]);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("aof_matches compares a small AOF whole and a large one by its first and last 512 KiB only (AOFMD5 holds the leader's lock while it reads)", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "aof-matches-"));
        try {
            const leaderAof = path.join(dir, "leader.aof");
            const calls = path.join(dir, "calls");
            const body = "x".repeat(2_500_000) + "leader's tail";
            fs.writeFileSync(leaderAof, body);
            const stub = `node_call() { echo "$3 $4" >> '${calls}'; [ $(($3 + $4)) -le "$(wc -c < '${leaderAof}')" ] || { echo '-ERR EOF'; return 0; }; echo "+$(tail -c +$(($3 + 1)) '${leaderAof}' | head -c "$4" | md5sum | cut -d' ' -f1)"; }`;
            const run = (own: string) => {
                fs.writeFileSync(path.join(dir, "appendonly.aof"), own);
                fs.writeFileSync(calls, "");
                const answer = sh(`${stub}\naof_matches l:1 ${Buffer.byteLength(own)}`, nodeLifeEnv({ DATA_DIR: dir }), NODE_LIFE).trim();
                return { answer, calls: fs.readFileSync(calls, "utf8").trim().split("\n") };
            };
            // A prefix of 2 MB: two windows of 512 KiB, the second aligned to 4 KiB.
            const prefix = run(body.slice(0, 2_000_000));
            expect(prefix.answer).toBe("+");
            expect(prefix.calls).toEqual(["0 524288", `${Math.floor((2_000_000 - 524288) / 4096) * 4096} ${2_000_000 - Math.floor((2_000_000 - 524288) / 4096) * 4096}`]);
            // Its tail differs: the leader's md5 of that window.
            expect(run(`${body.slice(0, 1_999_999)}y`).answer).toMatch(/^\+[0-9a-f]{32}$/);
            // Its start differs.
            expect(run(`y${body.slice(1, 2_000_000)}`).answer).toMatch(/^\+[0-9a-f]{32}$/);
            // Longer than the leader's: the leader's error for the window past its end.
            expect(run(`${body}more`).answer).toBe("-ERR EOF");
            // Small: compared whole, one call.
            const small = run(body.slice(0, 700_000));
            expect(small).toEqual({ answer: "+", calls: ["0 700000"] });
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("trim_unreplicated_tail cuts the end of the AOF its new leader does not hold, and nothing else", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "trim-tail-"));
        try {
            const common = "c".repeat(1_300_000);
            const leaderAof = path.join(dir, "leader.aof");
            fs.writeFileSync(leaderAof, `${common}*3\r\n$3\r\nSET\r\nleader-only`);
            // The leader answers AOFMD5 from its file, like Tile38 (EOF past its end).
            const stub = [
                `node_call() { case "$2" in PING) echo +PONG ;; AOFMD5) [ $(($3 + $4)) -le "$(wc -c < '${leaderAof}')" ] || { echo '-ERR EOF'; return 0; }; echo "+$(tail -c +$(($3 + 1)) '${leaderAof}' | head -c "$4" | md5sum | cut -d' ' -f1)" ;; esac; }`,
            ].join("\n");
            const run = (own: string) => {
                fs.writeFileSync(path.join(dir, "appendonly.aof"), own);
                sh(`${stub}\ntrim_unreplicated_tail l:1`, { DATA_DIR: dir, NODE_HOST: "n", NODE_PORT: "1", TILE38_PASSWORD: "pw" }, ["tile38-node.sh"]);
                return fs.readFileSync(path.join(dir, "appendonly.aof"), "utf8");
            };
            // Its own last writes, never replicated: cut back to what the leader holds.
            expect(run(`${common}*3\r\n$3\r\nSET\r\nmine-only`).length).toBe(common.length + "*3\r\n$3\r\nSET\r\n".length);
            // A prefix of the leader's: untouched.
            expect(run(common)).toBe(common);
            // Below the floor: untouched (it is fetched afresh instead).
            expect(run("c".repeat(1000) + "x")).toBe("c".repeat(1000) + "x");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("step_down follows the new leader at once when its whole AOF is a prefix of that leader's, else restarts as a follower (which trims what the leader lacks)", () => {
        const run = (o: { size: number; onDisk: number; matches: boolean }) =>
            sh([
                `node_server() { printf '{"aof_size":${o.size}}'; }`,
                `aof_size_on_disk() { echo ${o.onDisk}; }`,
                `aof_matches() { echo "matches $*" >&2; if ${o.matches ? "true" : "false"}; then echo +; else echo '+0123'; fi; }`,
                `node_call_self() { echo "self $*" >&2; echo +OK; }`,
                `drop_clients() { :; }`,
                `restart_as_follower() { echo "RESTART: $1"; }`,
                `log() { echo "LOG: $*"; }`,
                `step_down b:2 2>&1`,
            ].join("\n"), { DATA_DIR: os.tmpdir(), NODE_HOST: "a", NODE_PORT: "1", LOCAL_ENDPOINT: "127.0.0.1:1", TILE38_PASSWORD: "pw" }, ["tile38-node.sh", "tile38-fence.sh", "tile38-node-life.sh"]);
        const mib = 1024 * 1024;
        const live = run({ size: 5 * mib, onDisk: 5 * mib, matches: true });
        expect(live).toContain("self READONLY yes");
        expect(live).toContain(`matches b:2 ${5 * mib}`);
        expect(live).toContain("self FOLLOW b 2");
        expect(live).toContain("following it without a restart");
        expect(live).not.toContain("RESTART");
        // Writes the new leader lacks, a file not yet flushed, or an AOF below 1 MiB: the restart path.
        for (const o of [{ size: 5 * mib, onDisk: 5 * mib, matches: false }, { size: 5 * mib, onDisk: 5 * mib - 10, matches: true }, { size: mib - 1, onDisk: mib - 1, matches: true }]) {
            const out = run(o);
            expect(out).toContain("RESTART: the sentinels name b:2, which leads");
            expect(out).not.toContain("FOLLOW");
        }
    });

    it("tune_sentinel sets Sentinel's timing where it differs, leaves a parameter a Sentinel lacks alone, and does nothing when it matches", () => {
        const debug = (info: string, ping: string) => `*4\n$11\nINFO-PERIOD\n$${info.length}\n${info}\n$11\nPING-PERIOD\n$${ping.length}\n${ping}\n`;
        const run = (reply: string) => sh([
            `sentinel_call() { shift; if [ "$#" = 2 ]; then printf '${reply.replace(/\n/g, "\\n")}'; else echo "SET $*" >&2; echo +OK; fi; }`,
            `tune_sentinel s:1`,
        ].join("\n"), { SENTINELS: "s:1", DATA_DIR: os.tmpdir(), MASTER_NAME: "m", FENCE_AFTER_MS: "2000", SENTINEL_TIMING: sentinelTiming({ downAfterMilliseconds: 3000 }) }, ["tile38-sentinel-view.sh"]).trim();
        // Defaults: both set (ASK-PERIOD and MIN-LINK-RECONNECT-PERIOD absent from this reply: left alone); already tuned: nothing.
        expect(run(debug("10000", "1000"))).toBe("PING-PERIOD 250 INFO-PERIOD 1000");
        expect(run(debug("1000", "250"))).toBe("");
        // A Sentinel without SENTINEL DEBUG (an error reply): nothing.
        expect(run("-ERR unknown subcommand\n")).toBe("");
    });

    describe("the hand-over's moment (tile38-failover-phase.sh)", () => {
        const wait = (...ages: number[]) => sh(`failover_phase_wait ${ages.join(" ")}`, {}, ["tile38-failover-phase.sh"]).trim();

        it("turns read-only 550 ms after the aimed follower's last INFO (one cycle is 1050 ms)", () => {
            expect(wait(0)).toBe("550");
            expect(wait(550)).toBe("0");
            expect(wait(600)).toBe("1000");
        });

        it("aims at the follower that keeps the longest wait for any of them shortest", () => {
            // Aimed at the 400 ms one, the other is asked 300 ms later; aimed at the 100 ms one, 750 ms later.
            expect(wait(100, 400)).toBe("150");
            expect(wait(400, 100)).toBe("150");
            // 100 and 900: aimed at the 100 ms one, the other comes 250 ms later (800 the other way).
            expect(wait(100, 900)).toBe("450");
        });

        it("does not wait when no INFO is in the 1 s cycle (a sentinel that asks at once in a failover)", () => {
            expect(wait(4000)).toBe("0");
            expect(wait(1200, 3000)).toBe("0");
        });

        // SENTINEL DEBUG as Redis 7.2 answers it (two of its pairs), +OK to a change; every call echoed to stderr.
        const debugReply = "*4\\n$11\\nINFO-PERIOD\\n$4\\n1000\\n$11\\nPING-PERIOD\\n$3\\n250\\n";
        // SENTINEL MASTER's flags: a sentinel in no failover, and one still in its own.
        const calm = "*2\\n$5\\nflags\\n$6\\nmaster\\n";
        const failingOver = "*2\\n$5\\nflags\\n$27\\nmaster,failover_in_progress\\n";
        const stubs = (debug: string, master = calm) =>
            [
                "now_ms() { echo 1000; }",
                "sleep() { echo \"sleep $1\"; }",
                "log() { echo \"log $*\"; }",
                `sentinel_call() { shift; echo "call $*" >&2; case "$*" in "SENTINEL DEBUG") printf '${debug}' ;; "SENTINEL MASTER m") printf '${master}' ;; *) echo +OK ;; esac; }`,
                // info-refresh, slave-priority, flags: priority 0 and a down follower are not candidates.
                "sentinel_replicas() { printf '400 100 slave\\n100 100 slave\\n900 0 slave\\n200 100 slave,s_down\\n'; }",
            ].join("\n");
        const phase = (body: string) => {
            const r = spawnSync(busybox!, ["sh", "-c", `set -eu\nLOG_TAG=test\nMASTER_NAME=m\n. '${path.join(SCRIPTS_DIR, "lib.sh")}'\n. '${path.join(SCRIPTS_DIR, "tile38-failover-phase.sh")}'\n${body}`], { encoding: "utf8", env: { PATH: process.env.PATH ?? "", LC_ALL: "C" } });
            return { out: r.stdout, calls: r.stderr };
        };

        it("has the sentinel read every follower in one tick, then times against the followers it could promote", () => {
            const r = phase(`${stubs(debugReply)}\nfailover_phase s:1 && echo ok`);
            // INFO-PERIOD 1 ms for 0.15 s, then its own 1000 again; then the wait for the moment.
            expect(r.calls).toBe("call SENTINEL MASTER m\ncall SENTINEL DEBUG\ncall SENTINEL DEBUG INFO-PERIOD 1\ncall SENTINEL DEBUG INFO-PERIOD 1000\n");
            expect(r.out).toBe("sleep 0.15\nlog waiting 150 ms: sentinel s:1 then sees the promotion soonest (ages of its INFO of the followers: 400 100 ms)\nsleep 0.150\nok\n");
        });

        it("fails at once on a sentinel still in a failover of its own (it would refuse the hand-over's)", () => {
            const r = phase(`${stubs(debugReply, failingOver)}\nfailover_phase s:1 || echo refused`);
            expect(r.calls).toBe("call SENTINEL MASTER m\n");
            expect(r.out).toBe("refused\n");
        });

        it("aims at the followers' own moments on a sentinel without SENTINEL DEBUG, and fails on one that lists no replicas", () => {
            const r = phase(`${stubs("-ERR unknown subcommand\\n")}\nfailover_phase s:1 && echo ok`);
            expect(r.calls).toBe("call SENTINEL MASTER m\ncall SENTINEL DEBUG\n");
            expect(r.out).toMatch(/^log sentinel s:1 did not read the followers' INFO at once \(no SENTINEL DEBUG\): aiming at their own moments\nlog waiting 150 ms/);
            expect(phase(`${stubs(debugReply)}\nsentinel_replicas() { return 1; }\nfailover_phase s:1 || echo refused`).out).toBe("sleep 0.15\nrefused\n");
        });
    });

    describe("AOF compaction (tile38-compaction.sh)", () => {
        const libs = ["tile38-node.sh", "tile38-compaction.sh", "tile38-node-life.sh"];
        const env = (dir: string, nodes = "a:1 b:1 c:1") => ({
            DATA_DIR: dir, NODE_HOST: "a", NODE_PORT: "1", TILE38_PASSWORD: "pw", TILE38_NODES: nodes,
            AOF_COMPACT_RATIO: "2", AOF_COMPACT_MIN_BYTES: "1000",
        });
        const withDir = (f: (dir: string) => void) => {
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "compaction-"));
            try { f(dir); } finally { fs.rmSync(dir, { recursive: true, force: true }); }
        };
        const server = (stats: string) => `'{"ok":true,"stats":{${stats}}}'`;

        it("is due beyond the ratio over the compacted size, above the minimum, never with ratio 0", () => withDir((dir) => {
            const due = (size: number, base: number, ratio = "2", growth = 0, steps = 1) =>
                sh(`compaction_due ${size} ${base} ${growth} ${steps} && echo due || echo no`, { ...env(dir), AOF_COMPACT_RATIO: ratio }, libs).trim();
            // Aimed at 90 % of the bound: 2 x 1000 bytes is due beyond 1800.
            expect([due(999, 0), due(1801, 1000), due(1800, 1000), due(5000, 0, "0"), due(2701, 1000, "3")]).toEqual(["no", "due", "no", "no", "due"]);
            // Headroom: the AOF grows 100 bytes a step and a rewrite took 2 steps; started one step
            // later, it would end at size + 300 bytes, which must stay within 90 % of 2 x 1000.
            expect([due(1500, 1000, "2", 100, 2), due(1501, 1000, "2", 100, 2), due(1401, 1000, "2", 100, 3)]).toEqual(["no", "due", "due"]);
            // Never below the minimum, whatever the growth.
            expect(due(999, 100, "2", 10_000, 5)).toBe("no");
        }));

        it("estimates the AOF's growth per step: the larger of this step's and half the previous estimate, a shrink as 0", () => withDir((dir) => {
            const growth = (delta: number, previous: number) => sh(`aof_growth ${delta} ${previous}`, env(dir), libs).trim();
            expect([growth(300, 100), growth(100, 1000), growth(600, 1000), growth(-5000, 0), growth(-5000, 3)]).toEqual(["300", "500", "600", "0", "1"]);
        }));

        it("a leader's steps keep the trigger's facts: its growth per step and the steps its last rewrite took", () => withDir((dir) => {
            const stubs = [
                `node_server() { case "$1" in b:1|c:1) echo ${server('"following":"a:1","caught_up":true,"aof_size":5')} ;; *) echo ${server('"aof_size":1150')} ;; esac; }`,
                `node_call_self() { case "$1" in AOFSHRINK|SET) echo +OK ;; INFO) cat "$DATA_DIR/rewriting" ;; KEYS) printf '*1\\n$10\\n!tile38-ha\\n' ;; esac; }`,
                `node_call() { echo slave_priority:100; }; aof_size_on_disk() { echo 1800; }; sleep() { :; }; rewrite_landed() { true; }`,
                // rewrite_status's one connection: INFO persistence, then SERVER.
                `rsend() { cat >/dev/null; cat "$DATA_DIR/rewriting"; echo ${server('"aof_size":1150')}; }`,
                "NODE_STATE=leading",
            ].join("\n");
            const run = (body: string) => sh(`${stubs}\n${body}`, env(dir), libs).trim();
            fs.writeFileSync(path.join(dir, ".tile38-ha-compacted"), "1000");
            fs.writeFileSync(path.join(dir, "rewriting"), "aof_rewrite_in_progress:1\nconnected_slaves:2\n");
            // 1300, 1400, 1500 bytes: 100 a step; a rewrite assumed to take 1 step until one has run:
            // due once size + 100 x 2 > 90 % of 2 x 1000 would hold one step later, i.e. past 1600.
            expect(run(`for s in 1300 1400 1500; do compaction_step $s; done; echo "$NODE_STATE $AOF_GROWTH"`)).toBe("leading 100");
            // At 1650 (150 bytes this step): due; the rewrite runs this step and 2 more; then the
            // compacted size is recorded, and the next growth is counted from it.
            const body = [
                `for s in 1300 1400 1500 1650; do compaction_step $s; done; echo "$NODE_STATE $AOF_GROWTH"`,
                `compaction_step 1900; compaction_step 1950; echo "$NODE_STATE $COMPACT_RUN_STEPS"`,
                `echo 'aof_rewrite_in_progress:0' > "$DATA_DIR/rewriting"; compaction_step 2000`,
                `echo "$NODE_STATE $COMPACT_STEPS $AOF_PREV_SIZE $(cat "$DATA_DIR/.tile38-ha-compacted")"`,
                // Then 100 bytes a step again (the estimate decays from 150 to 100): due when
                // size + 100 x 4 > 90 % of 2 x 1150, i.e. past 1670.
                `printf 'aof_rewrite_in_progress:1\\nconnected_slaves:2\\n' > "$DATA_DIR/rewriting"`,
                `for s in 1250 1350 1450 1550 1650 1750; do compaction_step $s; echo "$s $NODE_STATE $AOF_GROWTH"; done`,
            ].join("\n");
            expect(run(body).split("\n")).toEqual([
                "compacting 150", "compacting 3", "leading 3 1150 1150",
                "1250 leading 100", "1350 leading 100", "1450 leading 100", "1550 leading 100", "1650 leading 100", "1750 compacting 100",
            ]);
        }));

        it("a leader compacts only with every follower caught up and no backup upload, then records the compacted size", () => withDir((dir) => {
            const stubs = [
                `node_server() { case "$1" in b:1|c:1) echo ${server('"following":"a:1","caught_up":true,"aof_size":5')} ;; *) echo ${server('"aof_size":1200')} ;; esac; }`,
                `node_call_self() { echo "$*" >> "$DATA_DIR/calls"; case "$1" in AOFSHRINK|SET) echo +OK ;; INFO) cat "$DATA_DIR/rewriting" ;; KEYS) printf '*2\\n$10\\n!tile38-ha\\n$5\\nfleet\\n' ;; esac; }`,
                `node_call() { echo slave_priority:100; }`,
                `rsend() { cat >/dev/null; cat "$DATA_DIR/rewriting"; echo ${server('"aof_size":1200')}; }`,
                `aof_size_on_disk() { echo 3000; }`,
                "NODE_STATE=leading",
            ].join("\n");
            const run = (body: string) => sh(`${stubs}\n${body}`, env(dir), libs).trim();
            fs.writeFileSync(path.join(dir, "rewriting"), "aof_rewrite_in_progress:1\nconnected_slaves:2\n");
            // No compacted size known: the current size becomes the base, nothing to do.
            expect(run(`compaction_step 3000; echo "$NODE_STATE $(cat "$DATA_DIR/.tile38-ha-compacted")"`)).toBe("leading 3000");
            fs.writeFileSync(path.join(dir, ".tile38-ha-compacted"), "1000");
            // A follower not caught up, or not promotable yet: not now.
            expect(run(`node_server() { echo ${server('"following":"a:1","caught_up":false')}; }; compaction_step 3000; echo "$NODE_STATE"`)).toBe("leading");
            expect(run(`node_call() { echo slave_priority:0; }; compaction_step 3000; echo "$NODE_STATE"`)).toBe("leading");
            // Both caught up, but one of them still connecting (one AOF stream open): not now.
            fs.writeFileSync(path.join(dir, "rewriting"), "aof_rewrite_in_progress:1\nconnected_slaves:1\n");
            expect(run(`compaction_step 3000; echo "$NODE_STATE"`)).toBe("leading");
            fs.writeFileSync(path.join(dir, "rewriting"), "aof_rewrite_in_progress:1\nconnected_slaves:2\n");
            // A backup upload under way: not now; a stale upload mark does not block.
            fs.writeFileSync(path.join(dir, ".tile38-ha-uploading"), "");
            expect(run(`compaction_step 3000; echo "$NODE_STATE"`)).toBe("leading");
            expect(run(`touch -d '@1' "$DATA_DIR/.tile38-ha-uploading"; compaction_step 3000; echo "$NODE_STATE"`)).toBe("compacting");
            // This compaction's own object first, then the rewrite.
            expect(fs.readFileSync(path.join(dir, "calls"), "utf8").split("\n").filter((l) => /^(SET|AOFSHRINK)/.test(l)).map((l) => l.split(" ").slice(0, 3).join(" "))).toEqual(["SET !tile38-ha aof-epoch", "AOFSHRINK"]);
            // Compacting while Tile38 rewrites; the new size recorded when it ends.
            const epoch = fs.readFileSync(path.join(dir, "calls"), "utf8").split("\n").find((l) => l.startsWith("SET !tile38-ha aof-epoch"))!.split(" ").pop()!;
            const compacting = `NODE_STATE=compacting; COMPACT_EPOCH=${epoch}`;
            expect(run(`${compacting}; compaction_step 3100; echo "$NODE_STATE"`)).toBe("compacting");
            // No rewrite in progress, but the file is not the new one yet (AOFSHRINK answers before
            // its rewrite starts): still compacting; given up after REWRITE_START_STEPS.
            fs.writeFileSync(path.join(dir, "rewriting"), "aof_rewrite_in_progress:0\n");
            fs.writeFileSync(path.join(dir, "appendonly.aof"), "*5\r\n$3\r\nset\r\n$5\r\nfleet\r\n");
            expect(run(`${compacting}; compaction_step 3100; echo "$NODE_STATE"`)).toBe("compacting");
            expect(run(`${compacting}; COMPACT_RUN_STEPS=9; compaction_step 3100; echo "$NODE_STATE $(cat "$DATA_DIR/.tile38-ha-compacted")"`)).toBe("leading 1000");
            // The new file, which starts with this compaction's own object: the new size recorded.
            fs.writeFileSync(path.join(dir, "appendonly.aof"), `*5\r\n$3\r\nset\r\n$10\r\n!tile38-ha\r\n$9\r\naof-epoch\r\n$6\r\nstring\r\n$${epoch.length}\r\n${epoch}\r\n`);
            expect(run(`${compacting}; compaction_step 3100; echo "$NODE_STATE $(cat "$DATA_DIR/.tile38-ha-compacted")"`)).toBe("leading 1200");
        }));

        it("the ratio's base is the last compacted size scaled to the objects held now (inserts never make a mark stale); a leader that knows none takes its size", () => withDir((dir) => {
            const mark = path.join(dir, ".tile38-ha-compacted");
            const base = (size: number, objects: number | "") => sh(`compacted_size ${size} ${objects}`, env(dir), libs).trim();
            // None known: the current size (and objects) become the mark.
            expect(base(95_000_000, 1_000_000)).toBe("95000000");
            expect(fs.readFileSync(mark, "utf8").trim()).toBe("95000000 1000000");
            // 2.9 MB compacted for 10 000 objects, 1 000 000 now (a load since): the floor object
            // (1 MiB) once, the rest per object; no rewrite of a 95 MB AOF of inserts.
            fs.writeFileSync(mark, "2900000 10000\n");
            expect(Number(base(95_000_000, 1_000_000))).toBe(1_048_576 + Math.floor((2_900_000 - 1_048_576) * 100));
            // Churn: the same objects, the mark as it is.
            expect(base(9_000_000, 10_000)).toBe("2900000");
            // A mark of fewer than 1000 objects (a new cluster's: the floor object, the sentinels'
            // traffic): as it is.
            fs.writeFileSync(mark, "1100067 1\n");
            expect(base(3_000_000, 500)).toBe("1100067");
            expect(base(3_000_000, 50_000)).toBe("1100067");
            // A mark of an earlier release (bytes only), or objects unknown: as it is.
            fs.writeFileSync(mark, "2900000\n");
            expect(base(95_000_000, 1_000_000)).toBe("2900000");
            fs.writeFileSync(mark, "2900000 10000\n");
            expect(base(95_000_000, "")).toBe("2900000");
        }));

        it("the leader publishes what its compaction wrote; a follower takes it as its mark when it reloads or leads, not its own grown file", () => withDir((dir) => {
            const mark = path.join(dir, ".tile38-ha-compacted");
            const run = (body: string) => sh(`node_call_self() { echo "$*" >> "$DATA_DIR/calls"; [ "$1 $3" = "GET aof-size" ] && printf '$14\\n%s\\n' "$(cat "$DATA_DIR/published")"; }\n${body}`, env(dir), libs).trim();
            run(`publish_compacted 2131903 10000`);
            expect(fs.readFileSync(path.join(dir, "calls"), "utf8").trim()).toBe("SET !tile38-ha aof-size STRING 2131903 10000");
            fs.writeFileSync(path.join(dir, "published"), "2131903 10000");
            run(`mark_from_published`);
            expect(fs.readFileSync(mark, "utf8").trim()).toBe("2131903 10000");
            // Nothing published (no compaction yet, or data of an earlier release): no mark from it.
            fs.writeFileSync(path.join(dir, "published"), "");
            expect(run(`mark_from_published && echo marked || echo none`).split("\n").pop()).toBe("none");
        }));

        it("a follower promoted to leader keeps its mark (no rebase at promotion: the objects scale it)", () => withDir((dir) => {
            fs.writeFileSync(path.join(dir, ".tile38-ha-compacted"), "2900000 10000\n");
            const body = [
                "sentinel_answers() { :; }; named_leader() { return 1; }; confirms_this_incarnation() { return 1; }; replacing_me() { return 1; }",
                "lead_by_name() { :; }; step_down_if_deposed() { :; }; handover_live() { return 1; }; fence() { :; }",
                `compaction_step() { echo "compaction_step $1 base $(compacted_size "$1" "$2")"; }`,
                "aof_size_on_disk() { echo 95000000; }; FENCE_AFTER_MS=999999; LAST_CONFIRMED_MS=$(now_ms); NODE_STATE=verified",
                `leader_step '{"id":"x","read_only":false,"aof_size":95000000,"num_objects":1000000}'; echo "$NODE_STATE"`,
            ].join("\n");
            expect(sh(body, env(dir), libs).trim().split("\n").filter((l) => !l.includes(" state "))).toEqual([`compaction_step 95000000 base ${1_048_576 + (2_900_000 - 1_048_576) * 100}`, "leading"]);
        }));

        it("a collection that sorts before the compaction's own object: never compacted", () => withDir((dir) => {
            const body = [
                `node_call_self() { case "$1" in AOFSHRINK|SET) echo "$1" >> "$DATA_DIR/calls"; echo +OK ;; KEYS) printf '*2\\n$2\\n!a\\n$5\\nfleet\\n' ;; esac; }`,
                `aof_size_on_disk() { echo 100; }; NODE_STATE=leading`,
                `compact "test"; echo "$NODE_STATE"`,
            ].join("\n");
            expect(sh(body, env(dir), libs).trim()).toBe("leading");
            expect(fs.existsSync(path.join(dir, "calls"))).toBe(false);
        }));

        it("a leader that counts its AOF twice (promoted while reloading) compacts once every follower's AOF stream is open, caught up or not", () => withDir((dir) => {
            const body = (streams: number) => [
                `node_server() { echo ${server('"following":"a:1","caught_up":false')}; }`,
                `node_call_self() { case "$1" in AOFSHRINK|SET) echo +OK ;; INFO) printf 'aof_rewrite_in_progress:1\\nconnected_slaves:${streams}\\n' ;; KEYS) printf '*1\\n$10\\n!tile38-ha\\n' ;; esac; }`,
                `rsend() { cat >/dev/null; echo aof_rewrite_in_progress:1; }`,
                `aof_size_on_disk() { echo 100; }; NODE_STATE=leading`,
                `compaction_step 900000; echo "$NODE_STATE"`,
            ].join("\n");
            // One of the two followers between its checksums and `AOF <pos>`: not yet.
            expect(sh(body(1), env(dir), libs).trim()).toBe("leading");
            expect(sh(body(2), env(dir), libs).trim().split("\n").pop()).toBe("compacting");
        }));

        it("a follower whose leader compacted a moment ago (its file emptied, or no prefix of the new one while Tile38 reconnects) waits instead of diverging", () => withDir((dir) => {
            const stubs = [
                // Leader c:1 compacted: its aof-epoch object is E2; this node's file starts with E1.
                `node_call() { case "$2" in GET) printf '$2\\n%s\\n+OK\\n' "$(cat "$DATA_DIR/epoch")" ;; esac; }`,
                `node_role() { echo master; }; follow_the_sentinels() { :; }; node_call_self() { :; }`,
                `aof_matches() { echo +0123; }; NODE_STATE=following`,
            ].join("\n");
            const run = (body: string) => sh(`${stubs}\n${body}`, env(dir, "a:1 b:1 c:1"), libs).trim();
            const aof = path.join(dir, "appendonly.aof");
            fs.writeFileSync(aof, `*5\r\n$3\r\nset\r\n$10\r\n!tile38-ha\r\n$9\r\naof-epoch\r\n$6\r\nstring\r\n$2\r\nE1\r\n${"x".repeat(600_000)}`);
            fs.writeFileSync(path.join(dir, "epoch"), "E2");
            // No prefix of the leader's new AOF: not diverged, checked again.
            expect(run(`follower_matches_leader c:1 600050; echo "$NODE_STATE"`)).toBe("following");
            // ... unless it stays so while caught up for STUCK_FOLLOW_MS: its follow resumed in the wrong file.
            expect(run(`STUCK_FOLLOW_MS=0; follower_matches_leader c:1 600050; echo "$NODE_STATE"`)).toBe("diverged");
            expect(run(`STUCK_FOLLOW_MS=0; follower_matches_leader c:1 0; echo "$NODE_STATE"`)).toBe("diverged");
            // Counting its AOF twice with an emptied file (the fetch not written yet): the same.
            fs.writeFileSync(aof, "");
            expect(run(`follower_matches_leader c:1 900000; echo "$NODE_STATE"`)).toBe("following");
            // The same epoch on both sides (no rewrite since): a real difference diverges, as before.
            fs.writeFileSync(aof, `*5\r\n$3\r\nset\r\n$10\r\n!tile38-ha\r\n$9\r\naof-epoch\r\n$6\r\nstring\r\n$2\r\nE2\r\n${"x".repeat(600_000)}`);
            expect(run(`follower_matches_leader c:1 600050; echo "$NODE_STATE"`)).toBe("diverged");
            // A leader that never compacted (no epoch object): likewise.
            fs.writeFileSync(path.join(dir, "epoch"), "");
            expect(run(`node_call() { :; }; follower_matches_leader c:1 600050; echo "$NODE_STATE"`)).toBe("diverged");
        }));

        it("a reload's restart keeps the trust of a file found a prefix of its leader's just before, once the new run has caught up with a leader", () => withDir((dir) => {
            const mark = path.join(dir, ".tile38-ha-reload-trust");
            const run = (body: string) => sh(`aof_size_on_disk() { cat "$DATA_DIR/size"; }\n${body}`, env(dir, "a:1 b:1 c:1"), libs).trim();
            fs.writeFileSync(path.join(dir, "size"), "1000");
            // Before the restart: recorded only when the file is a prefix of the leader's now.
            run(`aof_matches() { echo -ERR; }; save_trust_for_reload c:1`);
            expect(fs.existsSync(mark)).toBe(false);
            run(`aof_matches() { echo +; }; save_trust_for_reload c:1`);
            expect(fs.readFileSync(mark, "utf8").trim()).toBe("c:1 1000");
            // The new run: trusted once its server has caught up with a leader, not before.
            const after = (stats: string) => `CARRIED_TRUST="c:1 1000"; trust_after_reload '${stats}'; echo "\${TRUSTED_LEADER:-untrusted} $TRUSTED_SIZE"`;
            expect(run(after('{"caught_up_once":false}'))).toBe("untrusted 0");
            fs.writeFileSync(path.join(dir, "size"), "1200");
            expect(run(after('{"caught_up_once":true}')).split("\n").pop()).toBe("c:1 1000");
            // Its file cut below what was checked meanwhile: not trusted.
            fs.writeFileSync(path.join(dir, "size"), "900");
            expect(run(after('{"caught_up_once":true}'))).toBe("untrusted 0");
            // Anything that distrusts it first ends the carried trust too.
            fs.writeFileSync(path.join(dir, "size"), "1200");
            expect(run(`CARRIED_TRUST="c:1 1000"; distrust "test"; trust_after_reload '{"caught_up_once":true}'; echo "\${TRUSTED_LEADER:-untrusted}"`)).toBe("untrusted");
        }));

        it("a verified follower whose AOF no longer starts like its leader's (the leader rewrote it, or a follow resumed in another file) is not promotable and is checked again", () => withDir((dir) => {
            const aof = path.join(dir, "appendonly.aof");
            fs.writeFileSync(aof, `*2\r\n$3\r\nset\r\n${"x".repeat(5000)}`);
            const head = crypto.createHash("md5").update(fs.readFileSync(aof).subarray(0, 4096)).digest("hex");
            const stubs = [
                `node_call() { [ "$2 $3 $4" = "AOFMD5 0 4096" ] && cat "$DATA_DIR/answer"; }`,
                `node_role() { echo master; }; follow_the_sentinels() { :; }; node_call_self() { :; }; leader_lost() { return 1; }`,
                `_info='role:slave
master_host:c
master_port:1'`,
                `_stats='{"caught_up":true,"caught_up_once":true,"read_only":false,"aof_size":5013}'`,
                `NODE_STATE=verified; VERIFIED_LEADER=c:1; TRUSTED_LEADER=c:1; TRUSTED_SIZE=5013`,
            ].join("\n");
            const run = (body: string) => sh(`${stubs}\n${body}`, env(dir, "a:1 b:1 c:1"), libs).trim().split("\n").filter((l) => !/ (state|not promotable)/.test(l)).join("\n");
            const after = `follower_step "$_info" "$_stats"; echo "$NODE_STATE \${TRUSTED_LEADER:-untrusted}"`;
            // The same start: still verified and trusted.
            fs.writeFileSync(path.join(dir, "answer"), `+${head}\n`);
            expect(run(after)).toBe("verified c:1");
            // No answer, or an error: asked again next step.
            fs.writeFileSync(path.join(dir, "answer"), "");
            expect(run(after)).toBe("verified c:1");
            fs.writeFileSync(path.join(dir, "answer"), "-ERR EOF\n");
            expect(run(after)).toBe("verified c:1");
            // Another start: not promotable, back to following (checked against the leader again).
            fs.writeFileSync(path.join(dir, "answer"), `+${"0".repeat(32)}\n`);
            expect(run(after)).toBe("following untrusted");
        }));

        it("a follower that counts its AOF twice, its file a prefix of its leader's (the leader compacted), reloads in place at priority 0, one node at a time, never waiting for a dead one for long", () => withDir((dir) => {
            const stubs = [
                // Leader c:1 (id L, AOF 2000 bytes); b:1 comes before a:1 in TILE38_NODES.
                `node_server() { case "$1" in c:1) echo ${server('"id":"L","aof_size":2000')} ;; b:1) cat "$DATA_DIR/b" ;; esac; }`,
                `node_role() { echo master; }; follow_the_sentinels() { :; }; node_call_self() { :; }`,
                `node_call() { [ "$1 $2" = "b:1 INFO" ] && cat "$DATA_DIR/b-info"; }`,
                `restart_as_follower() { echo "restart: $1" >> "$DATA_DIR/calls"; }`,
                `aof_size_on_disk() { echo 1900; }; aof_matches() { echo +; }`,
                `_info='role:slave
master_host:c
master_port:1'`,
                `_stats='{"caught_up":true,"caught_up_once":true,"read_only":false,"aof_size":900000}'`,
                `NODE_STATE=verified; VERIFIED_LEADER=c:1`,
            ].join("\n");
            const run = (body: string) => sh(`${stubs}\n${body}`, env(dir, "b:1 a:1 c:1"), libs).trim();
            fs.writeFileSync(path.join(dir, "appendonly.aof"), "x".repeat(1900));
            // b:1 still counts more AOF than its leader: a:1 waits its turn (and stays eligible).
            fs.writeFileSync(path.join(dir, "b"), `{"ok":true,"stats":{"following":"c:1","caught_up":true,"aof_size":800000}}\n`);
            expect(run(`follower_step "$_info" "$_stats"; follower_step "$_info" "$_stats"; echo "$NODE_STATE"`)).toBe("reloading");
            expect(fs.existsSync(path.join(dir, "calls"))).toBe(false);
            // b:1 reloaded and caught up, but not promotable yet (priority 0 until its next step): still waiting.
            fs.writeFileSync(path.join(dir, "b"), `{"ok":true,"stats":{"following":"c:1","caught_up":true,"aof_size":1990}}\n`);
            fs.writeFileSync(path.join(dir, "b-info"), "role:slave\nslave_priority:0\n");
            expect(run(`follower_step "$_info" "$_stats"; follower_step "$_info" "$_stats"; echo "$NODE_STATE"`)).toBe("reloading");
            expect(fs.existsSync(path.join(dir, "calls"))).toBe(false);
            // b:1 promotable again: a:1's turn; the compacted size it reloads is its mark.
            fs.writeFileSync(path.join(dir, "b-info"), "role:slave\nslave_priority:100\n");
            expect(run(`follower_step "$_info" "$_stats"; follower_step "$_info" "$_stats"; echo "$NODE_STATE $(cat "$DATA_DIR/.tile38-ha-compacted")"`)).toBe("reloading 1900");
            expect(fs.readFileSync(path.join(dir, "calls"), "utf8")).toContain("restart: reloading its AOF (a prefix of c:1's) in place");
            // b:1 does not answer at all (dead, or restarting): a:1 waits at most RELOAD_TURN_MS.
            fs.rmSync(path.join(dir, "calls"));
            fs.writeFileSync(path.join(dir, "b"), "");
            expect(run(`RELOAD_TURN_MS=0; follower_step "$_info" "$_stats"; follower_step "$_info" "$_stats"; echo "$NODE_STATE"`)).toBe("reloading");
            expect(fs.readFileSync(path.join(dir, "calls"), "utf8")).toContain("restart:");
            // Its file no prefix of the leader's: a resync from scratch instead.
            expect(run(`aof_matches() { echo -ERR; }; follower_step "$_info" "$_stats"; echo "$NODE_STATE"`)).toBe("diverged");
        }));
    });
});
