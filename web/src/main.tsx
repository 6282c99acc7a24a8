import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App";
import { WorkspaceProvider } from "./state/useWorkspace";
import { authStore } from "./auth";
import { registerWorker, shareToken } from "./lib/push";
import "./styles.css";
import "./readable.css";

const root = document.getElementById("root");
if (root === null) throw new Error("index.html has no #root element");

createRoot(root).render(
  <StrictMode>
    <WorkspaceProvider>
      <App />
    </WorkspaceProvider>
  </StrictMode>,
);

// The installable app's service worker: push notifications, Allow/Deny from them.
void registerWorker().catch(() => undefined);
authStore.subscribe(() => void shareToken().catch(() => undefined));
