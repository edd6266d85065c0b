/**
 * AES-256-GCM opens through OpenSSL's libcrypto, called with Deno's FFI: an opt-in for Central's
 * telemetry threads (`--libcrypto`), where the open is the largest cost a message. Deno's
 * `node:crypto` builds a `Decipheriv` stream object and its `Buffer`s for every message; here
 * one OpenSSL context a thread is set to each message's key and IV: an open about 4× cheaper,
 * and about a fifth off Central's CPU a message in a backlog drain (BENCHMARKS.md).
 *
 * The price is Deno's sandbox: a process allowed FFI may run native code, so what it may do is
 * no longer bounded by its other permissions. That is why it is an option and not the default.
 * Every length is checked here before a pointer is handed over, since OpenSSL trusts them.
 *
 * ```ts
 * using gcm = OpenSslGcm.load("libcrypto.so.3"); // needs --allow-ffi
 * const plain = gcm.open(key, iv, aad, ciphertextAndTag); // null: the tag did not verify
 * ```
 *
 * @module
 */
import type { GcmOpener } from "./envelope.ts";

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** OpenSSL takes lengths as C `int`s. */
const MAX_INT = 0x7fff_ffff;
/** `EVP_CTRL_GCM_SET_TAG` (openssl/evp.h). */
const EVP_CTRL_GCM_SET_TAG = 0x11;

const SYMBOLS = {
  EVP_CIPHER_CTX_new: { parameters: [], result: "pointer" },
  EVP_CIPHER_CTX_free: { parameters: ["pointer"], result: "void" },
  EVP_aes_256_gcm: { parameters: [], result: "pointer" },
  EVP_DecryptInit_ex: {
    parameters: ["pointer", "pointer", "pointer", "buffer", "buffer"],
    result: "i32",
  },
  EVP_DecryptUpdate: {
    parameters: ["pointer", "buffer", "buffer", "buffer", "i32"],
    result: "i32",
  },
  EVP_CIPHER_CTX_ctrl: { parameters: ["pointer", "i32", "i32", "buffer"], result: "i32" },
  EVP_DecryptFinal_ex: { parameters: ["pointer", "buffer", "buffer"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

/** A library or its context that could not be loaded: the path, and why. */
export class OpenSslLoadError extends Error {
  /** `library`: the path asked for; `reason`: what went wrong. */
  constructor(library: string, reason: string, options?: ErrorOptions) {
    super(`cannot use OpenSSL's libcrypto at ${library}: ${reason}`, options);
    this.name = "OpenSslLoadError";
  }
}

/** An AES-256-GCM opener on OpenSSL, for one thread; {@link close} it when done. */
export class OpenSslGcm implements GcmOpener, Disposable {
  /** The path it was loaded from. */
  readonly library: string;
  #lib: Deno.DynamicLibrary<typeof SYMBOLS> | undefined;
  readonly #ctx: Deno.PointerObject;
  /** The plaintext length each update writes (a C `int`). */
  readonly #written = new Int32Array(1);
  /** Where the final step would write: nothing for GCM, but OpenSSL is handed a real buffer. */
  readonly #finalOut = new Uint8Array(TAG_BYTES);

  private constructor(library: string, lib: Deno.DynamicLibrary<typeof SYMBOLS>) {
    this.library = library;
    this.#lib = lib;
    const ctx = lib.symbols.EVP_CIPHER_CTX_new();
    const cipher = lib.symbols.EVP_aes_256_gcm();
    if (ctx === null || cipher === null) {
      lib.close();
      throw new OpenSslLoadError(library, "no cipher context for AES-256-GCM");
    }
    this.#ctx = ctx;
    // The cipher is set once; each open sets only its key and IV.
    if (lib.symbols.EVP_DecryptInit_ex(ctx, cipher, null, null, null) !== 1) {
      this.close();
      throw new OpenSslLoadError(library, "AES-256-GCM would not initialise");
    }
  }

  /**
   * Loads libcrypto from `library` (a path, or a name the dynamic linker finds, such as
   * `libcrypto.so.3`). Throws {@link OpenSslLoadError} when the process may not use FFI, the
   * library is not there, or it lacks the EVP functions used.
   */
  static load(library: string): OpenSslGcm {
    if (typeof library !== "string" || library === "") {
      throw new TypeError("library must be a non-empty path or library name");
    }
    let lib: Deno.DynamicLibrary<typeof SYMBOLS>;
    try {
      lib = Deno.dlopen(library, SYMBOLS);
    } catch (error) {
      const reason = error instanceof Deno.errors.NotCapable
        ? "this process may not use FFI (run it with --allow-ffi)"
        : error instanceof Error
        ? error.message
        : String(error);
      throw new OpenSslLoadError(library, reason, { cause: error });
    }
    return new OpenSslGcm(library, lib);
  }

  /**
   * The plaintext of `sealed` (ciphertext ‖ 16-byte tag) under `key` (32 bytes), `iv` (12
   * bytes) and `aad`, or `null` when the tag does not verify. Throws `TypeError` for a key or IV
   * of the wrong length or once closed, `RangeError` for inputs longer than OpenSSL takes.
   */
  open(key: Uint8Array, iv: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array | null {
    const { symbols } = this.#live();
    if (key.length !== KEY_BYTES) throw new TypeError(`key must be ${KEY_BYTES} bytes`);
    if (iv.length !== IV_BYTES) throw new TypeError(`iv must be ${IV_BYTES} bytes`);
    if (sealed.length < TAG_BYTES) return null;
    if (sealed.length > MAX_INT || aad.length > MAX_INT) {
      throw new RangeError(`inputs longer than ${MAX_INT} bytes`);
    }
    const ctx = this.#ctx;
    const length = sealed.length - TAG_BYTES;
    // GCM writes exactly as many bytes as it reads, so `plain` is all the room it needs.
    const plain = new Uint8Array(length);
    const ok = symbols.EVP_DecryptInit_ex(ctx, null, null, bytes(key), bytes(iv)) === 1 &&
      (aad.length === 0 ||
        symbols.EVP_DecryptUpdate(ctx, null, this.#written, bytes(aad), aad.length) === 1) &&
      (length === 0 ||
        symbols.EVP_DecryptUpdate(
                ctx,
                plain,
                this.#written,
                bytes(sealed.subarray(0, length)),
                length,
              ) === 1 && this.#written[0] === length) &&
      symbols.EVP_CIPHER_CTX_ctrl(
          ctx,
          EVP_CTRL_GCM_SET_TAG,
          TAG_BYTES,
          bytes(sealed.subarray(length)),
        ) === 1 &&
      symbols.EVP_DecryptFinal_ex(ctx, this.#finalOut, this.#written) === 1;
    return ok ? plain : null;
  }

  /** Frees the context and unloads the library. Idempotent. */
  close(): void {
    const lib = this.#lib;
    if (lib === undefined) return;
    this.#lib = undefined;
    lib.symbols.EVP_CIPHER_CTX_free(this.#ctx);
    lib.close();
  }

  /** {@link close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  #live(): Deno.DynamicLibrary<typeof SYMBOLS> {
    if (this.#lib === undefined) throw new TypeError(`OpenSSL at ${this.library} was closed`);
    return this.#lib;
  }
}

/** A view FFI takes as a buffer (any `Uint8Array` is one; the type says `BufferSource`). */
function bytes(view: Uint8Array): BufferSource {
  return view as Uint8Array<ArrayBuffer>;
}
