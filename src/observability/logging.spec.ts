import 'reflect-metadata';
import { AppConfig } from '../config/app-config';
import { logFormat } from './logging';

/** The format `npm start` writes its logs in, for these variables and this stdout. */
const formatFor = (env: Record<string, string>, stdout: 'terminal' | 'pipe') =>
  logFormat(AppConfig.fromEnvironment(env).logFormat, stdout === 'terminal');

describe('log format', () => {
  it('should write readable lines on a terminal and JSON into a pipe or a file', () => {
    expect(formatFor({}, 'terminal')).toBe('pretty');
    expect(formatFor({}, 'pipe')).toBe('json');
  });

  it('should write JSON under NODE_ENV=production, even on a terminal', () => {
    expect(formatFor({ NODE_ENV: 'production' }, 'terminal')).toBe('json');
    expect(formatFor({ NODE_ENV: 'development' }, 'terminal')).toBe('pretty');
  });

  it('should write what FLIGHTDECK_LOG_FORMAT says, wherever stdout goes', () => {
    expect(formatFor({ FLIGHTDECK_LOG_FORMAT: 'json' }, 'terminal')).toBe('json');
    expect(formatFor({ FLIGHTDECK_LOG_FORMAT: 'pretty' }, 'pipe')).toBe('pretty');
    expect(formatFor({ FLIGHTDECK_LOG_FORMAT: 'pretty', NODE_ENV: 'production' }, 'pipe')).toBe(
      'pretty',
    );
  });

  it('should stop at start-up on any other FLIGHTDECK_LOG_FORMAT, naming the variable', () => {
    expect(() => AppConfig.fromEnvironment({ FLIGHTDECK_LOG_FORMAT: 'text' })).toThrow(
      /FLIGHTDECK_LOG_FORMAT must be json or pretty/,
    );
  });
});
