import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import {
  type ActionContext,
  Daebus,
  DaebusCaller,
  type PayloadOf,
  type ResultOf,
} from '../../src/index.js';

/**
 * Typed contracts. The `expectTypeOf` assertions and the `@ts-expect-error`
 * lines are checked by `tsc --noEmit -p .` (tsconfig includes test/): a
 * line marked `@ts-expect-error` that compiles is itself an error. The
 * runtime part runs the same typed service and caller over the in-memory
 * transport, so the types describe what really travels.
 */

/** The map as an interface, the way the docs write it. */
interface Actions {
  get_data: { payload: { key: string }; result: { key: string; value: number } };
  get_status: {
    payload: { detail?: 'brief' | 'full' };
    result: { status: 'healthy' | 'degraded' };
  };
  /** No payload or result declared: unknown either way. */
  fire_and_forget: Record<string, never>;
}

/** The same contract as a type alias. */
type AliasActions = {
  adjust: { payload: { interval: number; mode: 'fixed' | 'adaptive' }; result: { ok: true } };
};

describe('an action map types the caller', () => {
  const caller = new DaebusCaller<Actions>('typed_service', { transport: 'memory' });

  it('checks request payloads and infers results', () => {
    // Nothing here runs: the function only has to compile (or fail to, where marked).
    const compileOnly = () => {
      expectTypeOf(caller.request('get_data', { key: 'a' })).resolves.toEqualTypeOf<{
        key: string;
        value: number;
      }>();
      expectTypeOf(caller.request('get_status', { detail: 'full' })).resolves.toEqualTypeOf<{
        status: 'healthy' | 'degraded';
      }>();
      const alias = new DaebusCaller<AliasActions>('alias_service');
      expectTypeOf(
        alias.request('adjust', { interval: 600, mode: 'adaptive' }),
      ).resolves.toEqualTypeOf<{
        ok: true;
      }>();
      // @ts-expect-error "sometimes" is not a mode
      alias.request('adjust', { interval: 600, mode: 'sometimes' });
      // @ts-expect-error "everything" is not a detail level
      caller.request('get_status', { detail: 'everything' });
      expectTypeOf(caller.request('fire_and_forget')).resolves.toBeUnknown();
      expectTypeOf(caller.request).parameter(0).toEqualTypeOf<keyof Actions>();
      expectTypeOf<Parameters<typeof caller.request<'get_data'>>[1]>().toEqualTypeOf<
        { key: string } | undefined
      >();

      // @ts-expect-error the payload's key must be a string
      caller.request('get_data', { key: 1 });
      // @ts-expect-error the payload lacks "key"
      caller.request('get_data', { name: 'a' });
      // @ts-expect-error an action the map does not have
      caller.request('get_dta', { key: 'a' });
      // @ts-expect-error the result is not a string
      const wrong: Promise<string> = caller.request('get_data', { key: 'a' });
      return wrong;
    };
    expectTypeOf(compileOnly).toBeFunction();
    expect(typeof compileOnly).toBe('function');
  });

  it('leaves an untyped caller open: any action, any payload, any result', () => {
    const untyped = new DaebusCaller('anything', { transport: 'memory' });
    const compileOnly = async () => {
      const result = await untyped.request('whatever', { any: ['thing'] });
      expectTypeOf(result).toBeAny();
      const n: number = result;
      return n;
    };
    expectTypeOf(compileOnly).returns.resolves.toBeNumber();
    expectTypeOf<PayloadOf<Actions, 'fire_and_forget'>>().toBeUnknown();
    expectTypeOf<ResultOf<Actions, 'get_data'>>().toEqualTypeOf<{ key: string; value: number }>();
  });

  afterAll(async () => {
    await caller.close();
  });
});

describe('the same action map types the service', () => {
  const app = new Daebus<Actions>('typed', { handleSignals: false, logLevel: 'silent' });

  it('types handler payloads and checks their results', () => {
    app.action('get_data', (payload, context) => {
      expectTypeOf(payload).toEqualTypeOf<{ key: string }>();
      expectTypeOf(context).toEqualTypeOf<ActionContext<{ key: string }>>();
      expectTypeOf(context.request.payload).toEqualTypeOf<{ key: string }>();
      return { key: payload.key, value: payload.key.length };
    });
    app.action('get_status', async (payload) => {
      expectTypeOf(payload).toEqualTypeOf<{ detail?: 'brief' | 'full' }>();
      return { status: payload.detail === 'full' ? 'healthy' : 'degraded' };
    });
    const alias = new Daebus<AliasActions>('alias', { handleSignals: false, logLevel: 'silent' });
    alias.action('adjust', (payload) => {
      expectTypeOf(payload.mode).toEqualTypeOf<'fixed' | 'adaptive'>();
      return { ok: true };
    });
    app.action('fire_and_forget', (payload) => {
      expectTypeOf(payload).toBeUnknown();
    });

    const other = new Daebus<Actions>('typed-wrong', { handleSignals: false, logLevel: 'silent' });
    const compileOnly = () => {
      // @ts-expect-error "value" must be a number
      other.action('get_data', () => ({ key: 'a', value: 'one' }));
      // @ts-expect-error an async handler is checked too
      other.action('get_data', async (payload) => ({ key: payload.key }));
      // @ts-expect-error "unknown" is not a status the map allows
      other.action('get_status', () => ({ status: 'unknown' }));
      // @ts-expect-error an action the map does not have
      other.action('get_dat', () => ({ key: 'a', value: 1 }));
      // @ts-expect-error the payload has no "name"
      other.action('get_data', (payload) => ({ key: payload.name, value: 1 }));
    };
    expectTypeOf(compileOnly).toBeFunction();
    expect(other.status).toBe('idle');
  });

  describe('at run time', () => {
    const caller = new DaebusCaller<Actions>('typed_service', { transport: 'memory' });

    beforeAll(async () => {
      await app.run({ service: 'typed_service', transport: 'memory' });
    });

    afterAll(async () => {
      await caller.close();
      await app.close();
    });

    it('carries what the types say', async () => {
      const data = await caller.request('get_data', { key: 'abcd' });
      expect(data).toEqual({ key: 'abcd', value: 4 });
      expect(data.value + 1).toBe(5);
      const status = await caller.request('get_status', { detail: 'full' });
      expect(status.status).toBe('healthy');
      expect(await caller.request('get_status', {})).toEqual({ status: 'degraded' });
      expect(await caller.request('fire_and_forget')).toEqual({});
    });
  });
});
