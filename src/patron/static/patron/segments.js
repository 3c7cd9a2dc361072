// The segment builder: each row offers only the comparisons that fit its field (the first of
// them once a field is chosen), and a class field offers its classes as you type. The server
// checks every condition anyway.
function fitCondition(row) {
  const field = row.querySelector("select[name$='-field']");
  const op = row.querySelector("select[name$='-op']");
  const value = row.querySelector("input[name$='-value']");
  if (!field || !op || !value) return;
  const kind = field.selectedOptions[0]?.dataset.kind ?? "";
  for (const option of op.options) {
    const fits = !option.value || !kind || (option.dataset.kinds ?? "").split(" ").includes(kind);
    option.disabled = option.hidden = !fits;
  }
  if (kind && (!op.value || op.selectedOptions[0]?.disabled)) {
    op.value = [...op.options].find((option) => option.value && !option.disabled)?.value ?? "";
  }
  if (kind === "choice") value.setAttribute("list", `segment-values-${field.value}`);
  else value.removeAttribute("list");
  value.inputMode = ["number", "percent", "days"].includes(kind) ? "decimal" : "text";
}

document.querySelectorAll("#segment-builder .condition-row").forEach(fitCondition);
// In the capture phase, so that the live count (htmx, on the way up) sends the fitted row.
document.addEventListener(
  "change",
  (event) => {
    const row = event.target.closest?.("#segment-builder .condition-row");
    if (row && event.target.name?.endsWith("-field")) fitCondition(row);
  },
  true,
);
