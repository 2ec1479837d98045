/** A large progress bar with a text label; indeterminate when the amount of work is not known. */
export function ProgressBar({ value, label }: { value: number | null; label: string }) {
  return (
    <div className="progress-row">
      <div
        className={`progress${value === null ? ' indeterminate' : ''}`}
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={value === null ? undefined : Math.round(value)}
      >
        {value !== null && <div className="progress-fill" style={{ width: `${value}%` }} />}
      </div>
      <span className="progress-label">{label}</span>
    </div>
  );
}
