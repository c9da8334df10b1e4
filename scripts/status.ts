/** `npm run`'s entry: a thin wrapper of testing/stackStatus.ts. */
import { main } from "../testing/stackStatus";

if (require.main === module) {
    main().then(
        (code) => process.exit(code),
        (e: Error) => {
            process.stderr.write(`status: ${e.message}\n`);
            process.exit(3);
        },
    );
}
