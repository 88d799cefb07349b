// The dashboard's link to the landscape page carries the run (and language) in the address bar at the
// moment it is followed: the dashboard rewrites its URL as runs change, so the href is set on use.
const link = document.getElementById("landscape-link");

function carryRun() {
  const here = new URLSearchParams(location.search);
  const target = new URLSearchParams();
  for (const name of ["run", "lang"]) if (here.get(name)) target.set(name, here.get(name));
  link.href = `landscape.html${target.size ? `?${target}` : ""}`;
}

for (const event of ["pointerdown", "focus", "click"]) link.addEventListener(event, carryRun);
