import { classifyFailure } from './transient-failure.js';

describe('classifyFailure', () => {
  it.each([
    [{ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:5432' }, 'connection'],
    [{ message: 'Connection terminated unexpectedly' }, 'connection'],
    [{ message: 'Connection terminated due to connection timeout' }, 'connection'],
    [{ code: '08006', message: 'connection failure' }, 'connection'],
    [{ code: '57P01', message: 'terminating connection due to administrator command' }, 'rolled-back'],
    [{ code: '40P01', message: 'deadlock detected' }, 'rolled-back'],
    [{ code: '57014', message: 'canceling statement due to statement timeout' }, 'timeout'],
    [{ message: 'timeout exceeded when trying to connect' }, 'timeout'],
    [{ message: 'Query read timeout' }, 'timeout'],
    [{ code: '22P05', message: 'unsupported Unicode escape sequence' }, 'invalid-input'],
    [{ code: '42P01', message: 'relation does not exist' }, 'other'],
    [new Error('anything else'), 'other'],
  ])('%j is %s', (error, kind) => {
    expect(classifyFailure(error)).toBe(kind);
  });
});
