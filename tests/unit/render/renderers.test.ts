import { sentinelTiming } from "../../../components/render/sentinelTiming";
import { parseStackConfig } from "../../../config/parse";
import { StackConfig } from "../../../config/types";
import {
    dockerTopology,
    kubernetesTopology,
    lettuceSentinelUri,
    MANAGED_TILE38_KEYS,
    renderSentinelAuth,
    renderSentinelConf,
    renderSentinelStartScript,
    renderTile38Config,
    renderTile38StartScript,
    renderTile38StopScript,
    shellQuote,
} from "../../../components/render";

function config(raw: Record<string, unknown> = {}): StackConfig {
    const { config: cfg, issues } = parseStackConfig({ target: "docker", ...raw }, { stack: "dev", platform: "linux" });
    expect(issues).toEqual([]);
    return cfg;
}

describe("topology", () => {
    it("docker: one advertised host, the original ports", () => {
        const topo = dockerTopology(config());
        expect(topo.nodes.map((n) => `${n.host}:${n.port}`)).toEqual(["127.0.0.1:9851", "127.0.0.1:9852", "127.0.0.1:9853"]);
        expect(topo.sentinels.map((n) => `${n.host}:${n.port}`)).toEqual(["127.0.0.1:5000", "127.0.0.1:5001", "127.0.0.1:5002"]);
        expect(topo.hostnames).toBe(false);
    });

    it("kubernetes: stable pod FQDNs and hostname mode", () => {
        const topo = kubernetesTopology(parseStackConfig({ target: "kubernetes" }, { stack: "k8s", platform: "linux" }).config);
        expect(topo.hostnames).toBe(true);
        expect(topo.nodes[1].host).toBe("tile38-1.tile38-headless.tile38.svc.cluster.local");
        expect(topo.sentinels[2].host).toBe("sentinel-2.sentinel-headless.tile38.svc.cluster.local");
    });
});

describe("sentinel.conf", () => {
    const topo = dockerTopology(config());
    const confs = topo.sentinels.map((s) => renderSentinelConf(s, topo, topo.nodes[0], "127.0.0.1"));

    it("monitors the first node with the quorum and the timings", () => {
        expect(confs[0]).toContain("sentinel monitor mymaster 127.0.0.1 9851 2\n");
        expect(confs[0]).toContain("sentinel down-after-milliseconds mymaster 3000\n");
        expect(confs[0]).toContain("sentinel parallel-syncs mymaster 1\n");
        expect(confs[0]).toContain("sentinel failover-timeout mymaster 18000\n");
        expect(confs[0]).toContain("sentinel deny-scripts-reconfig yes\n");
    });

    it("gives every sentinel its own port and announce address", () => {
        expect(new Set(confs).size).toBe(3);
        confs.forEach((c, i) => {
            expect(c).toContain(`\nport ${5000 + i}\n`);
            expect(c).toContain(`sentinel announce-port ${5000 + i}\n`);
            expect(c).toContain("sentinel announce-ip 127.0.0.1\n");
        });
    });

    it("holds no password and no id (the start script adds auth, the sentinel its id)", () => {
        for (const c of confs) {
            expect(c).not.toMatch(/requirepass|auth-pass|sentinel-pass|myid/);
        }
    });

    it("turns hostname resolution on before the monitor line when hosts are names", () => {
        const k8s = kubernetesTopology(parseStackConfig({ target: "kubernetes" }, { stack: "k8s", platform: "linux" }).config);
        const conf = renderSentinelConf(k8s.sentinels[0], k8s, k8s.nodes[0], "0.0.0.0");
        expect(conf.indexOf("sentinel resolve-hostnames yes")).toBeGreaterThan(-1);
        expect(conf.indexOf("sentinel resolve-hostnames yes")).toBeLessThan(conf.indexOf("sentinel monitor"));
        expect(conf).toContain("sentinel announce-hostnames yes");
        expect(conf).toContain("sentinel announce-ip sentinel-0.sentinel-headless.tile38.svc.cluster.local");
        expect(conf).toContain("sentinel monitor mymaster tile38-0.tile38-headless.tile38.svc.cluster.local 9851 2");
    });

    it("renders the auth lines: own password, peer password, Tile38 password", () => {
        expect(renderSentinelAuth("mymaster", { tile38Password: "t", sentinelPassword: "s" })).toBe(
            "requirepass s\nsentinel sentinel-pass s\nsentinel auth-pass mymaster t\n",
        );
    });
});

describe("Tile38 config", () => {
    const topo = dockerTopology(config({ tile38: { maxMemory: "2gb" } }));
    it("a follower follows the leader, authenticates, announces itself and is not eligible yet", () => {
        expect(renderTile38Config(topo.nodes[1], topo, { kind: "follower", leader: topo.nodes[0] }, "pw")).toEqual({
            follow_host: "127.0.0.1",
            follow_port: 9851,
            requirepass: "pw",
            leaderauth: "pw",
            replica_announce_ip: "127.0.0.1",
            replica_announce_port: 9852,
            "replica-priority": 0,
            read_only: false,
            maxmemory: "2gb",
        });
    });
    it("a leader follows nobody and has the normal priority", () => {
        const cfg = renderTile38Config(topo.nodes[0], topo, { kind: "leader" }, "pw");
        expect(cfg.follow_host).toBeUndefined();
        expect(cfg["replica-priority"]).toBe(100);
        expect(Object.keys(cfg).every((k) => (MANAGED_TILE38_KEYS as readonly string[]).includes(k))).toBe(true);
    });
});

describe("start scripts", () => {
    const topo = dockerTopology(config());
    const tile38 = renderTile38StartScript(topo);
    const sentinel = renderSentinelStartScript(topo);

    it("the Tile38 script knows the sentinels, the nodes and the master name, and no password", () => {
        expect(tile38).toContain("SENTINELS='127.0.0.1:5000 127.0.0.1:5001 127.0.0.1:5002'");
        expect(tile38).toContain("TILE38_NODES='127.0.0.1:9851 127.0.0.1:9852 127.0.0.1:9853'");
        expect(tile38).toContain("MASTER_NAME='mymaster'");
        expect(tile38).toContain("SENTINEL get-master-addr-by-name");
        expect(tile38).toContain("--appendonly yes");
        expect(tile38).not.toMatch(/requirepass"?: "?[A-Za-z0-9]{8}/);
    });

    it("the Tile38 script sets Sentinel's timing, the link redial at down-after within 1-15 s (a pod back with a new IP is seen at once, not after Sentinel's 15 s)", () => {
        expect(tile38).toContain("SENTINEL_TIMING='PING-PERIOD 250 ASK-PERIOD 250 INFO-PERIOD 1000 MIN-LINK-RECONNECT-PERIOD 3000'");
        expect(sentinelTiming({ downAfterMilliseconds: 30000 })).toMatch(/MIN-LINK-RECONNECT-PERIOD 15000$/);
        expect(sentinelTiming({ downAfterMilliseconds: 500 })).toMatch(/MIN-LINK-RECONNECT-PERIOD 1000$/);
    });

    it("the Tile38 script never self-elects without the sentinels", () => {
        // The only start_leader calls sit in the branch where the sentinels named this node.
        const main = tile38.slice(tile38.indexOf("main() {"));
        const named = main.indexOf('if [ "$leader" != "$SELF" ]');
        expect(named).toBeGreaterThan(-1);
        const noSentinel = main.indexOf('log "no sentinel answered yet"');
        expect(main.slice(noSentinel, main.indexOf("sleep 1", noSentinel))).not.toContain("start_leader");
    });

    it("the sentinel script appends auth and keeps the sentinel's id and epoch", () => {
        expect(sentinel).toContain("sentinel auth-pass %s %s");
        expect(sentinel).toContain("requirepass %s");
        expect(sentinel).toContain("sentinel sentinel-pass %s");
        expect(sentinel).toMatch(/\$2 == "myid" \|\| \$2 == "current-epoch"/);
        expect(sentinel).toContain('"$REDIS_BIN" "$_conf" --sentinel &');
        expect(sentinel).toContain("WATCHDOG_STRIKES='3'");
    });

    it("the stop script asks for SENTINEL FAILOVER and waits at most the failover timeout", () => {
        const stop = renderTile38StopScript(topo);
        expect(stop).toContain("SENTINEL FAILOVER");
        expect(stop).toContain("FAILOVER_TIMEOUT_MS='18000'");
    });

    it("shellQuote survives single quotes", () => {
        expect(shellQuote("a'b")).toBe(`'a'\\''b'`);
    });
});

describe("client URI", () => {
    it("is Lettuce's redis-sentinel form", () => {
        const topo = dockerTopology(config());
        expect(lettuceSentinelUri(topo.sentinels, "mymaster")).toBe("redis-sentinel://127.0.0.1:5000,127.0.0.1:5001,127.0.0.1:5002#mymaster");
    });
});
