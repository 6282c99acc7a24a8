import { Component, type ErrorInfo, type ReactNode } from "react";

interface State {
  error: Error | undefined;
}

/** A view that throws while rendering shows what went wrong, not a blank page. */
export class ErrorBoundary extends Component<{ children: ReactNode; resetKey: string }, State> {
  override state: State = { error: undefined };

  static getDerivedStateFromError(error: unknown): State {
    return { error: error instanceof Error ? error : new Error(String(error)) };
  }

  override componentDidCatch(error: Error, info: ErrorInfo): void {
    console.error("[chainwatch] a view failed to render", error, info.componentStack);
  }

  override componentDidUpdate(previous: { resetKey: string }): void {
    // Going to another view tries again.
    if (previous.resetKey !== this.props.resetKey && this.state.error !== undefined) this.setState({ error: undefined });
  }

  override render(): ReactNode {
    const { error } = this.state;
    if (error === undefined) return this.props.children;
    return (
      <div className="panel" role="alert">
        <p className="banner banner--error">This view failed: {error.message}</p>
        <p className="empty">
          Other views still work. <a href="#/">Back to the sessions</a>, or reload the page.
        </p>
      </div>
    );
  }
}
