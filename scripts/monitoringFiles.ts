/** `npm run`'s entry: a thin wrapper of testing/docs/monitoringFiles.ts. */
import { main } from "../testing/docs/monitoringFiles";

if (require.main === module) {
    main();
}
