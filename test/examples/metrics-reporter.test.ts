import { expect, it } from 'vitest';
import { describeExample, triggerUntilLogged } from './example-service.js';

describeExample(
  { file: 'metrics-reporter.ts', service: 'metrics_service', tasks: { metrics_reporter: 300 } },
  (example) => {
    it('reports the requests counted since the previous report, then resets the count', async () => {
      for (let i = 0; i < 3; i++) {
        expect(await example.client.ok(example.service, 'echo', { n: i })).toEqual({
          echo: { n: i },
        });
      }
      await triggerUntilLogged(
        example,
        'metrics_reporter',
        'Processed 3 requests in the last 300 seconds',
        'a report of 3 requests',
      );
      await triggerUntilLogged(
        example,
        'metrics_reporter',
        'Processed 0 requests in the last 300 seconds',
        'a report of 0 requests after the reset',
      );
    });
  },
);
