import { existsSync } from "node:fs";
import { join } from "node:path";
import type { SolidityHooks } from "hardhat/types/hooks";
import type { CompilerOutputError } from "hardhat/types/solidity";

/**
 * A cold build of `contracts/` and `test/solidity/` with solcjs (no native solc here), measured on
 * a 2-core machine shared with other jobs: see the README's quick start.
 */
export const FIRST_BUILD_NOTICE = "compiling contracts (first run, about 1-3 minutes; later runs reuse the build)";

/** Hardhat's compile cache (`cache/compile-cache.json`): absent before the first build. */
const COMPILE_CACHE_FILE = "compile-cache.json";

/** solc's code for "Transient storage as defined by EIP-1153 can break the composability ...". */
export const TRANSIENT_STORAGE_WARNING = "2394";
/** The file that warning points at (`--> <path>:line:column`), with either path separator. */
const OPENZEPPELIN_TRANSIENT_SLOT =
  /-->\s+\S*@openzeppelin[\\/]contracts(@[^\\/\s]+)?[\\/]utils[\\/]TransientSlot\.sol:/;

/**
 * Whether `error` is solc's transient-storage warning on OpenZeppelin's `TransientSlot.sol`. solc
 * 0.8.28 prints it for every `tstore` in inline assembly; there it is the lock of
 * `ReentrancyGuardTransient` (Vault, ClearingHouse), cleared at the end of each call: the use the
 * warning itself calls safe, in a file we do not edit. The same warning on our own files still
 * shows.
 */
export function isDependencyTransientStorageWarning(error: CompilerOutputError): boolean {
  return (
    error.severity === "warning" &&
    error.errorCode === TRANSIENT_STORAGE_WARNING &&
    OPENZEPPELIN_TRANSIENT_SLOT.test(error.formattedMessage ?? "")
  );
}

let noticePrinted = false;

export default async (): Promise<Partial<SolidityHooks>> => ({
  async build(context, rootFilePaths, options, next) {
    if (!noticePrinted && !existsSync(join(context.config.paths.cache, COMPILE_CACHE_FILE))) {
      noticePrinted = true;
      console.error(FIRST_BUILD_NOTICE);
    }
    return await next(context, rootFilePaths, options);
  },
  async getCompilationJobErrors(context, compilationJob, compilerOutput, next) {
    const errors = await next(context, compilationJob, compilerOutput);
    return errors.filter((error) => !isDependencyTransientStorageWarning(error));
  },
});
