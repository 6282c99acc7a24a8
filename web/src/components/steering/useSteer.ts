// Runs one steering action (answer, decide, command) for a component: busy while it
// runs, and the server's refusal kept for display. A 409 ("already answered", "the
// first answer wins") is the common refusal: another page or person was first.
import { useCallback, useEffect, useRef, useState } from "react";
import { ApiError } from "../../api";
import { pushToast } from "../../lib/toasts";

export interface SteerError {
  readonly message: string;
  /** 409: someone else answered or decided first. */
  readonly conflict: boolean;
}

export function useSteer(): {
  busy: boolean;
  error: SteerError | undefined;
  run: (label: string, action: () => Promise<unknown>) => Promise<boolean>;
} {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<SteerError | undefined>(undefined);
  const mounted = useRef(false);
  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
    };
  }, []);

  const run = useCallback(async (label: string, action: () => Promise<unknown>): Promise<boolean> => {
    setBusy(true);
    setError(undefined);
    try {
      await action();
      return true;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const conflict = err instanceof ApiError && err.isConflict;
      if (mounted.current) {
        setError({ message, conflict });
      } else {
        // The item left the page meanwhile (answered elsewhere): say so in a toast.
        pushToast({ tone: "error", title: conflict ? `${label}: not accepted` : `${label} failed`, body: message });
      }
      return false;
    } finally {
      if (mounted.current) setBusy(false);
    }
  }, []);

  return { busy, error, run };
}
