// The three streams a command reads and writes, injected so tests run commands without a terminal.
// Its own module so that the context and the prompter can both name it without importing each other.
export interface IO {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}
