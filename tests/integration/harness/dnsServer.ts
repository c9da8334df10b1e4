/**
 * The simulated cluster DNS: a real `dnsmasq` (Debian `dnsmasq-base`) inside the cluster network
 * namespace, authoritative for the cluster domain (`--local`: a name it does not hold is NXDOMAIN,
 * never forwarded; there is no upstream at all). Records live in a hosts file that the simulator
 * rewrites and reloads (SIGHUP) whenever a pod gets an address or disappears, as the cluster's DNS
 * follows the headless Services' endpoints. TTL 0 and no negative caching, like CoreDNS' default
 * of 5 s would allow at most; a name is checked from inside the network after every change.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { which } from "./busybox";
import { Harness, ManagedProcess } from "./processes";
import { waitFor } from "./wait";

function dnsmasqBinary(): string {
    return which("dnsmasq") ?? "/usr/sbin/dnsmasq";
}

export class DnsServer {
    private readonly records = new Map<string, string>();
    private readonly hostsFile: string;
    private proc: ManagedProcess | undefined;

    /**
     * @param netns the namespace it runs in (where `listenAddress` exists)
     * @param domain the cluster domain it is authoritative for (e.g. `cluster.local`)
     */
    constructor(private readonly h: Harness, private readonly netns: string, private readonly listenAddress: string, private readonly domain: string) {
        this.hostsFile = path.join(h.dir("dns"), "hosts");
        this.records.set(`dns-check.${domain}`, listenAddress);
        fs.writeFileSync(this.hostsFile, `${listenAddress} dns-check.${domain}\n`);
    }

    /** Starts dnsmasq and waits (bounded) until it answers. */
    async start(): Promise<void> {
        this.proc = this.h.start({
            name: "dnsmasq",
            command: which("ip") ?? "/usr/sbin/ip",
            args: [
                "netns", "exec", this.netns, dnsmasqBinary(),
                "--keep-in-foreground", "--conf-file=/dev/null", "--user=root", "--pid-file=",
                "--no-resolv", "--no-hosts", `--addn-hosts=${this.hostsFile}`,
                `--local=/${this.domain}/`, "--no-negcache", "--local-ttl=0",
                `--listen-address=${this.listenAddress}`, "--bind-interfaces", "--port=53",
                "--log-facility=-",
            ],
            env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" },
        });
        // Not through set(): a SIGHUP before dnsmasq installed its handler would end it.
        const check = `dns-check.${this.domain}`;
        await waitFor(
            () => {
                if (this.proc?.status) throw new Error(`dnsmasq exited: ${this.proc.tail(10)}`);
                return this.lookup(check) === this.listenAddress;
            },
            { timeoutMs: 10_000, what: "dnsmasq to answer", intervalMs: 100 },
        );
    }

    private writeAndReload(): void {
        const text = [...this.records].map(([name, addr]) => `${addr} ${name}`).join("\n") + "\n";
        fs.writeFileSync(`${this.hostsFile}.new`, text);
        fs.renameSync(`${this.hostsFile}.new`, this.hostsFile);
        if (!this.proc || this.proc.status) throw new Error("dnsmasq is not running");
        process.kill(this.proc.child.pid!, "SIGHUP");
    }

    /** What the server answers for `name` now (asked from inside the network): an address or undefined (NXDOMAIN). */
    lookup(name: string): string | undefined {
        let out = "";
        try {
            out = execFileSync(which("ip") ?? "/usr/sbin/ip", ["netns", "exec", this.netns, which("busybox")!, "nslookup", "-type=a", name, this.listenAddress], {
                encoding: "utf8",
                timeout: 5000,
                stdio: ["ignore", "pipe", "pipe"],
            });
        } catch {
            return undefined;
        }
        const addrs = [...out.matchAll(/^Address:\s*(\d+\.\d+\.\d+\.\d+)$/gm)].map((m) => m[1]).filter((a) => a !== this.listenAddress || name.startsWith("dns-check."));
        return addrs[0];
    }

    /** Publishes `name` -> `address` and waits (bounded) until the server answers it. */
    async set(name: string, address: string): Promise<void> {
        this.records.set(name, address);
        this.writeAndReload();
        await waitFor(() => this.lookup(name) === address, { timeoutMs: 10_000, what: `DNS ${name} -> ${address}`, intervalMs: 50 });
    }

    /** Removes `name` and waits (bounded) until the server answers NXDOMAIN for it. */
    async remove(name: string): Promise<void> {
        this.records.delete(name);
        this.writeAndReload();
        await waitFor(() => this.lookup(name) === undefined, { timeoutMs: 10_000, what: `DNS ${name} -> NXDOMAIN`, intervalMs: 50 });
    }

    /** The records now published. */
    published(): Record<string, string> {
        return Object.fromEntries(this.records);
    }

    async stop(): Promise<void> {
        await this.proc?.stop(2000);
    }
}
