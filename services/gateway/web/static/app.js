// The usager's page: see README, « La page de l'usager ».
document.getElementById("chargement").textContent = "";
