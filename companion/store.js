// The companion's settings and its last result, in the extension's own IndexedDB.
// IndexedDB needs no permission (chrome.storage would need "storage"), and it is the
// extension's alone: no web page and no other extension can read it.

const DB_NAME = "airbnb-sync-companion";
const STORE = "kv";

function open() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function run(mode, action) {
  const db = await open();
  try {
    return await new Promise((resolve, reject) => {
      const transaction = db.transaction(STORE, mode);
      const request = action(transaction.objectStore(STORE));
      transaction.oncomplete = () => resolve(request.result);
      transaction.onerror = () => reject(transaction.error);
      transaction.onabort = () => reject(transaction.error);
    });
  } finally {
    db.close();
  }
}

export function read(key) {
  return run("readonly", (store) => store.get(key));
}

export function write(key, value) {
  return run("readwrite", (store) => store.put(value, key));
}

// The options: {server, token, accountId}; null until saved.
export async function readOptions() {
  return (await read("options")) ?? null;
}

export function writeOptions(options) {
  return write("options", options);
}

// The last attempt: {at, trigger, ok, status, message}; sentAt is the last success.
export async function readState() {
  return (await read("state")) ?? {lastResult: null, sentAt: null, failedAt: null};
}

export function writeState(state) {
  return write("state", state);
}
