/**
 * `npm run synth -- <stack>`: runs the program under Pulumi mocks with Pulumi.<stack>.yaml and
 * prints one JSON array of every resource `{ type, name, inputs }`, secrets masked. No cloud,
 * no Docker, no cluster and no `pulumi` CLI needed. Bad config: the validation report on
 * stderr and exit code 1.
 */
import * as fs from "fs";
import * as path from "path";
import { installMocks, maskSecrets, runProgram } from "../testing/pulumiMocks";
import { readStackFile } from "../testing/stackFile";

async function main(): Promise<number> {
    const stack = process.argv[2];
    if (!stack) {
        process.stderr.write("usage: npm run synth -- <stack>   (reads Pulumi.<stack>.yaml)\n");
        return 2;
    }
    const file = path.join(__dirname, "..", `Pulumi.${stack}.yaml`);
    if (!fs.existsSync(file)) {
        process.stderr.write(`no stack file ${file}\n`);
        return 2;
    }
    const { values, secretKeys } = readStackFile(file);
    const recorded = installMocks(stack, values, secretKeys);
    const failure = await runProgram(recorded);
    if (failure) {
        process.stderr.write(`${failure instanceof Error ? failure.message : String(failure)}\n`);
        return 1;
    }
    const out = recorded.map((r) => ({ type: r.type, name: r.name, inputs: maskSecrets(r.inputs) }));
    process.stdout.write(JSON.stringify(out, null, 2) + "\n");
    return 0;
}

// Exit only once stdout and stderr are flushed: on a pipe, process.exit would cut the JSON short.
main().then((code) => process.stdout.write("", () => process.stderr.write("", () => process.exit(code))));
