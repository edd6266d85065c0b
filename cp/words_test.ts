import assert from "node:assert/strict";
import { notice, type NoticeCode, NOTICES } from "../shared/notices.ts";
import { CP_TEXT, type CpTextKey, sayWords, words } from "./words.ts";

Deno.test("CP words: every text in both languages, with the same placeholders", () => {
  const names = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
  assert.deepEqual(Object.keys(CP_TEXT.es).sort(), Object.keys(CP_TEXT.en).sort());
  for (const [key, english] of Object.entries(CP_TEXT.en)) {
    assert.deepEqual(names(CP_TEXT.es[key as CpTextKey]), names(english), key);
  }
});

Deno.test("CP words: each refusal and logout Central sends is shown in Spanish through its code", () => {
  const codes = Object.keys(NOTICES.en).filter((c) => /^log(in|out)_/.test(c)) as NoticeCode[];
  assert.ok(codes.length >= 19, codes.join(" "));
  for (const code of codes) {
    const said = notice(code, { id: "CP-7", why: "bad_signature", error: "no curve" });
    const line = sayWords("es", { central: { reason: "revoked", ...said } });
    const spanish = NOTICES.es[code].replace("{id}", "CP-7").replace("{why}", "bad_signature")
      .replace("{error}", "no curve");
    assert.equal(line, `revoked: ${spanish}`, code);
    assert.notEqual(spanish, said.detail, `${code} is translated`);
    assert.equal(
      sayWords("en", { central: { reason: "revoked", ...said } }),
      `revoked: ${said.detail}`,
    );
  }
});

Deno.test("CP words: a code this monitor does not know shows Central's English words", () => {
  const newer = {
    reason: "bad_token",
    detail: "a newer Central's words",
    detail_code: "login_from_the_future",
    detail_params: { id: "CP-7" },
  } as const;
  assert.equal(sayWords("es", { central: newer }), "bad_token: a newer Central's words");
  assert.equal(
    sayWords("es", { central: { reason: "replaced" } }),
    "replaced",
    "an older Central's LOGOUT says only its reason",
  );
  assert.equal(
    sayWords("es", { central: { reason: "shutdown", detail_code: "logout_from_the_future" } }),
    "shutdown",
    "an unknown code without words says only the reason",
  );
  assert.equal(
    sayWords("es", { central: { reason: "revoked", detail: "CP-7 is revoked at Central" } }),
    "revoked: CP-7 is revoked at Central",
    "words without a code pass as they are",
  );
});

Deno.test("CP words: the monitor's own lines nest Central's, figures written for the language", () => {
  const why = { central: { reason: "key_revoked" as const, ...notice("logout_key_revoked") } };
  const wait = words("nextTry", {
    reason: words("keyRevokedWait", { why, seconds: 10 }),
    seconds: 2.5,
  });
  assert.equal(
    sayWords("es", wait),
    "clave revocada por la Central (key_revoked: un administrador revocó la clave de este punto: " +
      "vuelva a autenticarse para obtener otra); nueva autenticación en 10 s; próximo intento en " +
      "2,5 s",
  );
  assert.equal(
    sayWords("en", wait),
    "key revoked by Central (key_revoked: an admin revoked this CP's key: re-authenticate for a " +
      "new one); re-authenticating in 10 s; next try in 2.5 s",
  );
  assert.equal(sayWords("es", "ECONNREFUSED"), "ECONNREFUSED", "a system's text as it is");
});

Deno.test("CP words: the state Central shows, with its hold and maintenance, in the language", () => {
  const shows = { state: "STOPPED", stopReason: "maintenance", maintenance: true } as const;
  assert.equal(sayWords("en", { shows }), "Central shows STOPPED (maintenance), maintenance on");
  assert.equal(
    sayWords("es", { shows }),
    "la Central muestra PARADO (mantenimiento), mantenimiento activado",
  );
  const active = { shows: { state: "ACTIVATED", stopReason: null, maintenance: false } } as const;
  assert.equal(sayWords("en", active), "Central shows ACTIVATED");
});
