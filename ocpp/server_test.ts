import assert from "node:assert/strict";
import { ocpp16Validator, startOcppServer } from "./server.ts";

const codeOf = (f: () => unknown): string | undefined => {
  try {
    f();
    return undefined;
  } catch (error) {
    return (error as { rpcErrorCode?: string }).rpcErrorCode;
  }
};

Deno.test("ocpp server: the 1.6 validator accepts a valid call and names each violation", () => {
  const v = ocpp16Validator();
  assert.equal(v.subprotocol, "ocpp1.6");
  assert.equal(codeOf(() => v.validate("urn:Heartbeat.req", {})), undefined);
  assert.equal(codeOf(() => v.validate("urn:MakeCoffee.req", {})), "NotImplemented");
  assert.equal(
    codeOf(() =>
      v.validate("urn:StatusNotification.req", {
        connectorId: 1,
        errorCode: "NoError",
        status: "Exploded",
      })
    ),
    "PropertyConstraintViolation",
  );
  assert.equal(
    codeOf(() => v.validate("urn:BootNotification.req", { chargePointVendor: "V" })),
    "OccurenceConstraintViolation", // ocpp-rpc turns it into the errata's spelling on the wire
  );
  assert.equal(
    codeOf(() =>
      v.validate("urn:BootNotification.req", { chargePointVendor: 1, chargePointModel: "M" })
    ),
    "TypeConstraintViolation",
  );
});

Deno.test("ocpp server: plain ws is refused off loopback", async () => {
  const hub = {
    admit: () => Promise.reject(new Error("unused")),
    connect: () => Promise.reject(new Error("unused")),
  };
  await assert.rejects(
    startOcppServer({ hostname: "0.0.0.0", port: 0, hub }),
    /plain ws \(no TLS\) is served only on loopback/,
  );
});
