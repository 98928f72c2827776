/** What every scenario gets from `run.ts`: a private temp directory and the run's durations. */
export interface ScenarioContext {
  /** A fresh directory under the run's temp root; removed with it. */
  dir: string;
  /** Load time before a measuring window opens. */
  warmupMs: number;
  /** Length of a measuring window. */
  windowMs: number;
  /** Backlog size for the persist/drain scenario. */
  backlogReadings: number;
}

export const MB = 1024 ** 2;
