/** The backup renderers: agent script, restore command, agent environment. */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
    BACKUP_AGENT_ENV,
    backupAgentEnv,
    refreshSecondsFor,
    renderBackupAgentScript,
    renderRestoreCommand,
    RESTORE_HANDSHAKE_DIR,
} from "../../../components/render/backupScripts";

const script = renderBackupAgentScript({ intervalSeconds: 300, refreshSeconds: refreshSecondsFor(30) });
const restore = renderRestoreCommand({ timeoutSeconds: 600 });

function syntaxCheck(shell: string[], text: string): void {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "backup-render-"));
    try {
        const f = path.join(dir, "s.sh");
        fs.writeFileSync(f, text);
        execFileSync(shell[0], [...shell.slice(1), "-n", f], { stdio: "pipe" });
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

describe("renderBackupAgentScript", () => {
    test("is bash with strict error handling and the configured defaults", () => {
        expect(script.startsWith("#!/bin/bash\n")).toBe(true);
        expect(script).toContain("set -uo pipefail");
        expect(script).toContain("DEFAULT_INTERVAL='300'");
        expect(script).toContain(`DEFAULT_REFRESH_SECONDS='${15 * 86400}'`);
        expect(script).toContain(`RESTORE_DIR_NAME='${RESTORE_HANDSHAKE_DIR}'`);
    });
    test("parses with bash", () => {
        expect(() => syntaxCheck(["bash"], script)).not.toThrow();
    });
    test("talks RESP over /dev/tcp (the AWS CLI image has no nc) and asks SERVER in JSON", () => {
        expect(script).toContain("/dev/tcp/$TILE38_HOST/$TILE38_PORT");
        expect(script).toContain("resp OUTPUT json");
        expect(script).toContain("resp SERVER");
        expect(script).not.toMatch(/\bnc\b/);
    });
    test("only the leader's agent uploads", () => {
        expect(script).toContain(`if [[ $json == *'"following":'* ]]; then`);
    });
    test("uploads exactly aof_size bytes, streamed", () => {
        expect(script).toContain('head -c "$size" "$AOF" | s3 s3 cp - "$(s3url "$key")" --expected-size "$size"');
    });
    test("takes aof_size from the node's SERVER reply only (no test seam)", () => {
        expect(script).toContain('json=$(tile38_server_json) && size=$(json_field aof_size "$json")');
        expect(script).not.toMatch(/OVERRIDE|SEAM/);
    });
    test("the manifest is written after the object and the pointer after the manifest", () => {
        const obj = script.indexOf('s3 s3 cp - "$(s3url "$key")"');
        const man = script.indexOf('s3 s3 cp - "$(s3url "$mkey")"');
        const ptr = script.indexOf('s3 s3 cp - "$(s3url "${BACKUP_PREFIX}$POINTER_NAME")"');
        expect(obj).toBeGreaterThan(0);
        expect(man).toBeGreaterThan(obj);
        expect(ptr).toBeGreaterThan(man);
    });
    test("restore refuses truncated and corrupt backups", () => {
        expect(script).toContain("is truncated:");
        expect(script).toContain("is corrupt: sha256");
    });
    test("documents every variable it reads", () => {
        for (const v of BACKUP_AGENT_ENV) expect(script).toContain(v);
    });
    test("refuses bad settings", () => {
        expect(() => renderBackupAgentScript({ intervalSeconds: 0, refreshSeconds: 0 })).toThrow(/intervalSeconds/);
        expect(() => renderBackupAgentScript({ intervalSeconds: 1, refreshSeconds: -1 })).toThrow(/refreshSeconds/);
    });
    test("refreshSecondsFor is half the expiry", () => {
        expect(refreshSecondsFor(30)).toBe(1296000);
        expect(refreshSecondsFor(1)).toBe(43200);
    });
});

describe("renderRestoreCommand", () => {
    test("parses with busybox sh (the Tile38 image's shell) and dash", () => {
        expect(() => syntaxCheck(["busybox", "sh"], restore)).not.toThrow();
        expect(() => syntaxCheck(["sh"], restore)).not.toThrow();
    });
    test("is bounded by the timeout and uses the handshake directory", () => {
        expect(restore).toContain("RESTORE_TIMEOUT='600'");
        expect(restore).toContain(`'${RESTORE_HANDSHAKE_DIR}'`);
        expect(restore).toContain('while [ "$(date +%s)" -lt "$_end" ]');
    });
    test("re-checks the placed file's size and sha256", () => {
        expect(restore).toContain('sha256sum "$_d/appendonly.aof"');
    });
    test("refuses a bad timeout", () => {
        expect(() => renderRestoreCommand({ timeoutSeconds: 0 })).toThrow(/timeoutSeconds/);
    });
});

describe("backupAgentEnv", () => {
    test("holds no secret and only what is set", () => {
        const env = backupAgentEnv({ nodeName: "n1", tile38Host: "127.0.0.1", tile38Port: 9851, dataDir: "/data", bucket: "b", keyPrefix: "p/", createBucket: false });
        expect(env).toEqual({
            NODE_NAME: "n1",
            TILE38_HOST: "127.0.0.1",
            TILE38_PORT: "9851",
            DATA_DIR: "/data",
            BACKUP_BUCKET: "b",
            BACKUP_PREFIX: "p/",
            BACKUP_CREATE_BUCKET: "0",
        });
    });
    test("endpoint and region", () => {
        const env = backupAgentEnv({ nodeName: "n1", tile38Host: "h", tile38Port: 1, dataDir: "/d", bucket: "b", keyPrefix: "p/", createBucket: true, endpoint: "http://127.0.0.1:9000", region: "eu-west-1" });
        expect(env).toMatchObject({ BACKUP_ENDPOINT: "http://127.0.0.1:9000", AWS_REGION: "eu-west-1", AWS_DEFAULT_REGION: "eu-west-1", BACKUP_CREATE_BUCKET: "1" });
    });
});
