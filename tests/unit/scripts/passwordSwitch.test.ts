/**
 * password-switch.sh under busybox sh against fake RESP servers (a node and a sentinel that
 * accept given passwords): the old passwords from a mounted Secret's files (the Kubernetes Job's
 * source), what it sends, and its refusal when a process accepts neither password.
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { OLD_PASSWORD_FILES } from "../../../components/render/passwordSwitch";
import { renderScriptFile } from "../../../components/render/scriptFiles";
import { busyboxPath, which } from "../../../testing/fixtures/loopback/busybox";

const busybox = which("busybox");
const describeSh = busybox ? describe : describe.skip;

/** A RESP server that accepts AUTH with any of `passwords` (and those ACL SETUSER adds), answers +OK to the rest and records every command after a successful AUTH. */
class FakeServer {
    readonly commands: string[][] = [];
    private server = net.createServer((sock) => {
        let buf = "";
        let authed = false;
        sock.on("data", (d) => {
            buf += d.toString("utf8");
            for (;;) {
                const cmd = parseCommand(buf);
                if (!cmd) return;
                buf = buf.slice(cmd.length);
                const [name, ...args] = cmd.args;
                if (/^auth$/i.test(name)) {
                    authed = this.passwords.includes(args[0]);
                    sock.write(authed ? "+OK\r\n" : "-ERR invalid password\r\n");
                } else if (/^quit$/i.test(name)) {
                    sock.end("+OK\r\n");
                } else if (!authed) {
                    sock.write("-NOAUTH Authentication required.\r\n");
                } else {
                    this.commands.push(cmd.args);
                    // As Sentinel's default user: one more password accepted.
                    if (/^acl$/i.test(name)) this.passwords.push(...args.filter((a) => a.startsWith(">")).map((a) => a.slice(1)));
                    sock.write("+OK\r\n");
                }
            }
        });
        sock.on("error", () => undefined);
    });
    constructor(public passwords: string[]) {}
    async listen(): Promise<number> {
        await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
        return (this.server.address() as net.AddressInfo).port;
    }
    close(): Promise<void> {
        return new Promise((r) => this.server.close(() => r()));
    }
}

function parseCommand(buf: string): { args: string[]; length: number } | undefined {
    const m = /^\*(\d+)\r\n/.exec(buf);
    if (!m) return undefined;
    let at = m[0].length;
    const args: string[] = [];
    for (let i = 0; i < Number(m[1]); i++) {
        const h = /^\$(\d+)\r\n/.exec(buf.slice(at));
        if (!h || buf.length < at + h[0].length + Number(h[1]) + 2) return undefined;
        at += h[0].length;
        args.push(buf.slice(at, at + Number(h[1])));
        at += Number(h[1]) + 2;
    }
    return { args, length: at };
}

describeSh("password-switch.sh (busybox sh) with the old passwords from a mounted Secret", () => {
    let dir: string;
    let node: FakeServer;
    let sentinel: FakeServer;
    let run: (env: Record<string, string>) => Promise<{ code: number; out: string }>;

    beforeEach(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "pw-switch-"));
        fs.mkdirSync(path.join(dir, "old"));
        fs.writeFileSync(path.join(dir, "old", OLD_PASSWORD_FILES.tile38), "old-t38");
        fs.writeFileSync(path.join(dir, "old", OLD_PASSWORD_FILES.sentinel), "old-sen");
        node = new FakeServer(["old-t38"]);
        sentinel = new FakeServer(["old-sen"]);
        const [nodePort, sentinelPort] = [await node.listen(), await sentinel.listen()];
        const script = renderScriptFile("password-switch.sh", {
            MASTER_NAME: "mymaster",
            SENTINELS: `127.0.0.1:${sentinelPort}`,
            TILE38_NODES: `127.0.0.1:${nodePort}`,
            NODE_DIRS: "",
            SENTINEL_DIRS: "",
            OLD_PASSWORDS_DIR: path.join(dir, "old"),
        });
        fs.writeFileSync(path.join(dir, "switch.sh"), script);
        const PATH = busyboxPath(dir);
        run = (env) =>
            new Promise((resolve) =>
                execFile(busybox!, ["sh", path.join(dir, "switch.sh")], { env: { PATH, ...env }, timeout: 30000 }, (e, stdout, stderr) =>
                    resolve({ code: e ? Number((e as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` }),
                ),
            );
    });
    afterEach(async () => {
        await Promise.all([node.close(), sentinel.close()]);
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("switches with the old passwords it reads there, in order, and logs no password", async () => {
        const r = await run({ TILE38_PASSWORD: "new-t38", SENTINEL_PASSWORD: "new-sen" });
        expect(r.code).toBe(0);
        expect(r.out).toMatch(/every process that answers is on the new passwords/);
        for (const pw of ["old-t38", "old-sen", "new-t38", "new-sen"]) expect(r.out).not.toContain(pw);
        expect(node.commands).toEqual([
            ["CONFIG", "SET", "requirepass", "new-t38"],
            ["CONFIG", "SET", "leaderauth", "new-t38"],
            ["CONFIG", "REWRITE"],
        ]);
        expect(sentinel.commands.slice(0, 2)).toEqual([
            ["ACL", "SETUSER", "default", "on", ">new-sen"],
            ["SENTINEL", "CONFIG", "SET", "sentinel-pass", "new-sen"],
        ]);
    }, 60000);

    it("fails, naming the process, when one accepts neither the new nor the old password, before it changes anything", async () => {
        node.passwords = ["something-else"];
        const r = await run({ TILE38_PASSWORD: "new-t38", SENTINEL_PASSWORD: "new-sen" });
        expect(r.code).toBe(1);
        expect(r.out).toMatch(/Tile38 node 127\.0\.0\.1:\d+ refuses both the new Tile38 password and its old one/);
        expect(r.out).toMatch(/nothing changed: the cluster keeps its passwords/);
        expect(sentinel.commands).toEqual([]);
        expect(node.commands).toEqual([]);
    }, 60000);

    it("run again once switched, changes nothing that matters (accepts the new passwords first)", async () => {
        node.passwords = ["new-t38"];
        sentinel.passwords = ["new-sen"];
        const r = await run({ TILE38_PASSWORD: "new-t38", SENTINEL_PASSWORD: "new-sen" });
        expect(r.code).toBe(0);
        expect(sentinel.commands.filter((c) => c[0] === "ACL")).toEqual([]);
    }, 60000);
});
