import { useEffect, useId, useRef, useState, type FormEvent } from "react";

/** Asks for the server's bearer token after a 401. */
export function SignInDialog(props: { message: string | undefined; onSignIn: (token: string) => void }) {
  const [token, setToken] = useState("");
  const id = useId();
  const input = useRef<HTMLInputElement | null>(null);
  useEffect(() => input.current?.focus(), []);
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    if (token.trim() !== "") props.onSignIn(token);
  };
  return (
    <div className="dialog-backdrop">
      <form className="dialog" role="dialog" aria-modal="true" aria-labelledby={`${id}-title`} onSubmit={onSubmit}>
        <h2 id={`${id}-title`}>Sign in to Chainwatch</h2>
        <p>This server needs an access token. Ask whoever runs it, or see its README.</p>
        {props.message !== undefined ? (
          <p className="dialog__message" role="alert">
            {props.message}
          </p>
        ) : null}
        <label htmlFor={`${id}-token`}>Token</label>
        <input
          id={`${id}-token`}
          ref={input}
          type="password"
          autoComplete="current-password"
          value={token}
          onChange={(e) => setToken(e.target.value)}
        />
        <p className="dialog__note">Kept in this tab only (sessionStorage), until it closes.</p>
        <div className="dialog__actions">
          <button type="submit" className="btn btn--primary" disabled={token.trim() === ""}>
            Sign in
          </button>
        </div>
      </form>
    </div>
  );
}
