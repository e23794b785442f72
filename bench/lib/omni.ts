// What the benchmarks borrow from omni's sources: bundled by bench/lib/build.mjs into bench/.build/
// so the plain .mjs scripts can seed and query through the real repositories, not copies of them.
export { openDatabase } from '../../src/db/connection.js';
export { listTickets } from '../../src/db/tickets.js';
export { dmDeliveryBody } from '../../src/twitter/deliveries.js';
export { signBody, SIGNATURE_HEADER } from '../../src/twitter/signature.js';
export { seedInteraction, TEST_SECRETS } from '../../tests/support/seed.js';
// The data-model floor (bench/model-floor-server.mjs): omni's own hot-path statements and pragmas, called directly.
export { createIntakeStore } from '../../src/db/intake.js';
export { configureConnection } from '../../src/db/pragmas.js';
