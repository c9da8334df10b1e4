/** `npm run`'s entry: a thin wrapper of testing/scenarios/drill.ts. */
import { main } from "../testing/scenarios/drill";

if (require.main === module) {
    main().then(
        (code) => process.stdout.write("", () => process.exit(code)),
        (e) => {
            process.stderr.write(`drill failed: ${e instanceof Error ? e.stack : String(e)}\n`);
            process.exit(1);
        },
    );
}
