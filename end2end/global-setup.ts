// Waits until the server answers /health: `cargo leptos end-to-end` starts it but does not wait.
export default async function globalSetup(): Promise<void> {
  const baseURL = process.env.FERRY_BASE_URL ?? "http://127.0.0.1:3000";
  const deadline = Date.now() + 120_000;
  let lastError = "no answer yet";
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${baseURL}/health`);
      if (response.ok) return;
      lastError = `status ${response.status}`;
    } catch (error) {
      lastError = String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`Ferry did not become healthy at ${baseURL}: ${lastError}`);
}
