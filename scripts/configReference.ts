/** `npm run`'s entry: a thin wrapper of testing/docs/configReference.ts. */
import { main } from "../testing/docs/configReference";

if (require.main === module) {
    main();
}
