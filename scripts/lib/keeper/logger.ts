/** The keepers' one-line logs. */

/** One line per call; keepers log one line per action so logs grep well. */
export interface Logger {
  info(line: string): void;
  warn(line: string): void;
  error(line: string): void;
}

/** Timestamped lines on stdout (info) and stderr (warnings and errors). */
export function consoleLogger(name: string): Logger {
  const line = (level: string, text: string) => `${new Date().toISOString()} ${level} [${name}] ${text}`;
  return {
    info: (text) => console.log(line("INFO ", text)),
    warn: (text) => console.error(line("WARN ", text)),
    error: (text) => console.error(line("ERROR", text)),
  };
}
