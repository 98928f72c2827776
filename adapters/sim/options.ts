import { z } from 'zod';

const ms = (description: string) => z.number().int().nonnegative().describe(description);

/**
 * Options of the simulated adapter (`adapters.<name>` with `type: sim`): a fleet for demos, tests and
 * benchmarks. `src/config/schema.ts` adds `type` and `enabled`.
 */
export const simOptionsSchema = z.strictObject({
  fleet: z
    .strictObject({
      climate: z
        .number()
        .int()
        .nonnegative()
        .default(3)
        .describe('Climate sensors (temperature, humidity, pressure).'),
      switch: z.number().int().nonnegative().default(2).describe('Switches: commands on, off, toggle.'),
      contact: z.number().int().nonnegative().default(1).describe('Door/window contacts (events on change).'),
      sleepy: z
        .number()
        .int()
        .nonnegative()
        .default(1)
        .describe('Battery sensors that sleep; commands wait for their wake-up.'),
    })
    .prefault({})
    .describe('How many simulated devices of each kind.'),
  reportIntervalMs: ms(
    'How often each awake device reports; 0 reports as fast as the pipeline accepts.',
  ).default(5000),
  jitterMs: ms('Random spread added to each report interval.').default(500),
  wakeIntervalMs: ms('Sleepy sensors wake up this often.').default(30_000),
  awakeMs: ms('Sleepy sensors stay awake this long after waking.').default(2000),
  batchSize: z
    .number()
    .int()
    .positive()
    .default(1)
    .describe('Readings per emit call (benchmarks raise it to load the pipeline harder).'),
  seed: z.number().int().optional().describe('Seed for the value generator, for reproducible fleets.'),
});

export type SimOptions = z.output<typeof simOptionsSchema>;
